// streamrec's page: a thin client over the gateway's public API (fetch + DOM, no framework).
// Every piece of data goes into the page through textContent, never innerHTML.
// The URL is the state: /?q=… a search, /?title=… a title, /?tab=explore the catalogue
// questions, / the viewer's picks; history.pushState moves between them.
"use strict";

const PLATFORMS = { amazon: "Prime Video", disney: "Disney+", hulu: "Hulu", netflix: "Netflix" };
const ALL_PLATFORMS = Object.keys(PLATFORMS);
const TITLE_ID = /^[adhn]s[1-9][0-9]{0,8}$/;
const REASONS = {
  model: "A personal prediction: the model has learnt from your ratings and knows this title.",
  unknown_user:
    "The model has not learnt your taste yet, so the answer uses the title's average only.",
  unknown_title:
    "The model has no ratings for this title yet, so the answer uses your usual ratings only.",
  unknown_user_and_title:
    "The model knows neither you nor this title yet, so the answer is the overall average rating.",
};
const LEADS = {
  0: "Connection problem.",
  401: "Sign-in needed.",
  403: "Not allowed.",
  404: "Nothing found.",
  422: "Please check the input.",
  429: "Too many requests.",
  503: "Temporarily unavailable.",
};
const LABELS = {
  id: "Title id",
  title: "Title",
  platform: "Platform",
  type: "Type",
  release_year: "Release year",
  duration: "Duration",
  year: "Year",
  scored: "Mean rating above",
  count: "Titles",
  actor: "Actor",
  appearances: "Appearances",
};
const PAGE_SIZE = 24;
const PICKS = 10;
const CAST_SHOWN = 12;

const $ = (id) => document.getElementById(id);

// -- helpers -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, { signIn = false } = {}) {
    super(message);
    this.status = status;
    this.signIn = signIn; // no token, and no way to get one without the viewer's help
  }
}

const answers = new Map(); // GETs that do not depend on the viewer: back and forward are instant

/** GET a gateway path (as `user`, with their token, for per-user routes); resolves to the JSON
 * body or rejects with a message a person can read. */
async function api(path, params, { user, cache = false } = {}) {
  const url = params && String(params) ? `${path}?${params}` : path;
  if (cache && answers.has(url)) return answers.get(url);
  const headers = { Accept: "application/json" };
  if (user) headers.Authorization = `Bearer ${await tokenFor(user)}`;
  let response;
  try {
    response = await fetch(url, { headers });
  } catch {
    throw new ApiError("The service cannot be reached.", 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(errorText(response.status, body), response.status);
  if (body === null) throw new ApiError("The service sent an answer the page cannot read.", 502);
  if (cache) {
    answers.set(url, body);
    if (answers.size > 200) answers.delete(answers.keys().next().value);
  }
  return body;
}

function errorText(status, body) {
  // 422 bodies carry a ready-made `message`; 404 and 503 a string `detail`.
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  return `The service answered with an error (HTTP ${status}).`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function link(href, text, className) {
  const node = el("a", className, text);
  node.href = href;
  return node;
}

function button(text, className, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/** Only the answer to the most recent request may touch the page: typing is faster than HTTP. */
function latest() {
  let counter = 0;
  return () => {
    const mine = ++counter;
    return () => mine === counter;
  };
}

// Titles are stored in lower case; a regex rather than \b so "schindler's" keeps its small s.
const titleCase = (text) =>
  String(text).replace(/(^|[\s("/:-])(\p{L})/gu, (_, before, letter) => before + letter.toUpperCase());
const fixed = (value, digits = 2) => Number(value).toFixed(digits);
const count = (value) => Number(value).toLocaleString("en-US");
const typeLabel = (type) => ({ movie: "Film", "tv show": "TV show" })[type] || type;
const platformName = (platform) => PLATFORMS[platform] || platform;
const plural = (n, word) => `${count(n)} ${word}${Number(n) === 1 ? "" : "s"}`;
const genreName = (genre) => titleCase(genre).replace(/\bTv\b/g, "TV");
const genresOf = (listedIn) =>
  String(listedIn || "")
    .split(",")
    .map((genre) => genre.trim())
    .filter(Boolean);
const names = (list) =>
  list.length <= 2 ? list.join(" and ") : `${list.slice(0, -1).join(", ")} and ${list.at(-1)}`;

function durationText(value, unit) {
  if (value == null || !unit) return null;
  return unit === "min" ? `${value} min` : plural(value, "season");
}

function maturity(rating) {
  const special = { all: "All ages", nr: "Not rated", "not rated": "Not rated", unrated: "Unrated" };
  return special[rating] || String(rating).toUpperCase();
}

function pill(platform, small) {
  const node = el("span", `pill pill--${platform}${small ? " pill--small" : ""}`, platformName(platform));
  node.dataset.testid = "platform";
  return node;
}

function definitions(pairs, className = "facts") {
  const list = el("dl", className);
  for (const [term, value, extra] of pairs) {
    const row = el("div", `fact${extra ? ` ${extra}` : ""}`);
    const dd = el("dd");
    if (value instanceof Node) dd.append(value);
    else dd.textContent = String(value);
    row.append(el("dt", "", term), dd);
    list.append(row);
  }
  return list;
}

// -- first content: when each state shows something a person can read ---------------------

let viewSeq = 0;
let markedSeq = -1;
let focusPending = false;
let focusFrom = null;

function viewStarted(view) {
  viewSeq += 1;
  performance.mark(`view-start:${view}`);
}

/** The state's first real content (not a skeleton) is on screen; the tests time this mark. */
function firstContent(view) {
  if (markedSeq === viewSeq) return;
  markedSeq = viewSeq;
  performance.mark(`first-content:${view}`);
  document.documentElement.dataset.shown = view;
  restoreScroll();
  // The focus goes to the new heading, unless the viewer moved it meanwhile (to type, say).
  const moved = document.activeElement !== focusFrom && document.activeElement !== document.body;
  if (focusPending && !moved) {
    const headings = document.querySelectorAll(`[data-view="${view}"] h1`);
    const heading = [...headings].find((h) => h.checkVisibility());
    if (heading) heading.focus({ preventScroll: true });
  }
  focusPending = false;
}

// -- states: loading, empty, error ---------------------------------------------------------

function skeleton(cards, label) {
  const wrap = el("div", "skeleton");
  wrap.append(el("p", "visually-hidden", label));
  const list = el("ol", "cards");
  list.setAttribute("aria-hidden", "true");
  for (let i = 0; i < cards; i += 1) {
    const card = el("li", "card card--skeleton");
    card.append(
      el("span", "bone bone--pill"),
      el("span", "bone bone--title"),
      el("span", "bone bone--short"),
      el("span", "bone"),
    );
    list.append(card);
  }
  wrap.append(list);
  return wrap;
}

function state({ icon = "i", title, text, actions = [], kind = "", testid = "state" }) {
  const box = el("div", `state${kind ? ` state--${kind}` : ""}`);
  box.dataset.testid = testid;
  box.append(el("span", "state-icon", icon));
  box.firstChild.setAttribute("aria-hidden", "true");
  if (title) box.append(el("p", "state-title", title));
  if (text) box.append(el("p", "state-text", text));
  if (actions.length) {
    const row = el("div", "state-actions");
    row.append(...actions);
    box.append(row);
  }
  return box;
}

function errorState(error, retry, { compact = false } = {}) {
  if (error.signIn) return signInState(compact);
  const actions = retry ? [button("Try again", "btn btn-secondary", retry)] : [];
  const box = state({
    icon: "!",
    title: LEADS[error.status] || "Something went wrong.",
    text: error.message || String(error),
    actions,
    kind: compact ? "error state--compact" : "error",
    testid: "error",
  });
  box.setAttribute("role", "alert");
  return box;
}

function signInState(compact) {
  return state({
    icon: "→",
    title: "Sign in to see this",
    text: "Picks, predictions and ratings are personal: they need you to sign in.",
    actions: [button("Sign in", "btn btn-primary", openViewerDialog)],
    kind: compact ? "compact" : "",
    testid: "sign-in-needed",
  });
}

function noServicesState(what) {
  return state({
    icon: "∅",
    title: "No services chosen",
    text: `Choose at least one streaming service to see ${what}.`,
    actions: [button("Choose my services", "btn btn-primary", openServicesDialog)],
    testid: "no-services",
  });
}

// -- the viewer's services, remembered in this browser ------------------------------------

const SERVICES_KEY = "streamrec-services";

function storedServices() {
  try {
    const list = JSON.parse(localStorage.getItem(SERVICES_KEY));
    return Array.isArray(list) ? ALL_PLATFORMS.filter((p) => list.includes(p)) : null;
  } catch {
    return null;
  }
}

/** The services the viewer chose; all four until they choose. */
const services = () => storedServices() || ALL_PLATFORMS;

function saveServices(list) {
  localStorage.setItem(SERVICES_KEY, JSON.stringify(ALL_PLATFORMS.filter((p) => list.includes(p))));
  showServices();
}

/** `platform` once per service; none at all for all four (the short URL for the usual case). */
function withPlatforms(params, list) {
  if (list.length < ALL_PLATFORMS.length) for (const p of list) params.append("platform", p);
  return params;
}

function servicesText(list) {
  if (list.length === ALL_PLATFORMS.length) return "All four";
  if (!list.length) return "None chosen";
  return list.map(platformName).join(", ");
}

function onServices(list) {
  if (!list.length) return "on none of your services";
  if (list.length === ALL_PLATFORMS.length) return "on all four services";
  return `on ${names(list.map(platformName))}`;
}

function showServices() {
  const list = services();
  $("services-summary").textContent = servicesText(list);
  $("filter-platform-mine").textContent =
    list.length === ALL_PLATFORMS.length ? "My services (all four)" : `My services (${servicesText(list)})`;
  for (const box of document.querySelectorAll("#services-dialog input[name=service]")) {
    box.checked = list.includes(box.value);
  }
}

function openServicesDialog() {
  showServices();
  $("services-warning").textContent = "";
  $("services-dialog").showModal();
}

function setupServices() {
  const dialog = $("services-dialog");
  $("services-button").addEventListener("click", openServicesDialog);
  $("onboarding-choose").addEventListener("click", openServicesDialog);
  $("onboarding-all").addEventListener("click", () => {
    saveServices(ALL_PLATFORMS);
    $("onboarding").hidden = true;
    $("home-heading").focus(); // the button that had the focus is gone
  });
  // Each tick applies at once: the view behind the dialog follows.
  dialog.addEventListener("change", () => {
    const ticked = [...dialog.querySelectorAll("input[name=service]:checked")].map((b) => b.value);
    $("services-warning").textContent = ticked.length
      ? ""
      : "With no service chosen there is nothing to show: tick at least one.";
    saveServices(ticked);
    render({ refresh: true });
  });
  // Closing the dialog is a choice too: the onboarding card has done its job.
  dialog.addEventListener("close", () => {
    if (!storedServices()) saveServices(services());
    $("onboarding").hidden = true;
  });
  // Another tab changed them.
  window.addEventListener("storage", (event) => {
    if (event.key === SERVICES_KEY) {
      showServices();
      render({ refresh: true });
    }
  });
  showServices();
}

// -- sign-in: per-user answers need the viewer's token ------------------------------------

const TOKEN_KEY = "streamrec-token";
const VIEWER_KEY = "streamrec-viewer";
const DEMO_KEY = "streamrec-token-demo"; // the token held came from the demo sign-in
const signIn = { demo: null, pending: new Map() };

function tokenUser(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return { user: String(claims.sub), expires: Number(claims.exp) * 1000 };
  } catch {
    return null;
  }
}

/** The viewer: the user they signed in as; the demo user 1 until they choose. */
function viewer() {
  const stored = localStorage.getItem(VIEWER_KEY);
  return stored && /^[1-9][0-9]{0,9}$/.test(stored) ? stored : "1";
}

function heldToken(user) {
  const held = sessionStorage.getItem(TOKEN_KEY);
  const claims = held && tokenUser(held);
  return claims && claims.user === String(user) && claims.expires > Date.now() + 60_000 ? held : null;
}

/** A token for `user`: the one held, else one from the demo sign-in (make run only). */
async function tokenFor(user) {
  const held = heldToken(user);
  if (held) return held;
  if (signIn.demo === false) {
    throw new ApiError("Sign in to see what is personal to you.", 401, { signIn: true });
  }
  if (!signIn.pending.has(user)) {
    signIn.pending.set(
      user,
      demoToken(user).finally(() => signIn.pending.delete(user)),
    );
  }
  return signIn.pending.get(user);
}

async function demoToken(user) {
  let response;
  try {
    response = await fetch("/auth/demo", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ user_id: Number(user) }),
    });
  } catch {
    throw new ApiError("The service cannot be reached.", 0);
  }
  if (response.status === 404 || response.status === 405) {
    signIn.demo = false;
    showSignIn();
    throw new ApiError("Sign in to see what is personal to you.", 401, { signIn: true });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(errorText(response.status, body), response.status);
  signIn.demo = true;
  sessionStorage.setItem(TOKEN_KEY, body.token);
  sessionStorage.setItem(DEMO_KEY, "true");
  showSignIn();
  return body.token;
}

function showSignIn() {
  const held = sessionStorage.getItem(TOKEN_KEY);
  const claims = held && tokenUser(held);
  const signedIn = claims && claims.user === viewer();
  // "Signed in as " + "user 1 (demo)": the label's space keeps the two words apart when read.
  $("sign-in-label").textContent = signedIn ? "Signed in as " : "Viewer ";
  $("sign-in-state").textContent = signedIn
    ? `user ${claims.user}${sessionStorage.getItem(DEMO_KEY) ? " (demo)" : ""}`
    : "Not signed in";
  $("viewer-demo-note").hidden = signIn.demo === false;
  $("viewer-form").hidden = signIn.demo === false;
}

function openViewerDialog() {
  $("viewer-id").value = viewer();
  $("viewer-error").replaceChildren();
  $("viewer-dialog").showModal();
}

function switchViewer(user) {
  localStorage.setItem(VIEWER_KEY, user);
  showSignIn();
  $("viewer-dialog").close();
  render({ refresh: true });
}

function setupSignIn() {
  $("viewer-button").addEventListener("click", openViewerDialog);
  $("viewer-close").addEventListener("click", () => $("viewer-dialog").close());
  $("viewer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = $("viewer-id").value.trim();
    const region = $("viewer-error");
    if (!/^[1-9][0-9]{0,9}$/.test(user)) {
      region.textContent = "Enter a user id: a whole number from 1 up.";
      return $("viewer-id").focus();
    }
    try {
      await tokenFor(user);
      switchViewer(user);
    } catch (error) {
      region.textContent = error.signIn
        ? "This server has no demo sign-in: sign in with a token instead."
        : error.message;
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("viewer-token").value.trim();
    const claims = tokenUser(token);
    if (!claims || !/^[1-9][0-9]{0,9}$/.test(claims.user)) {
      $("viewer-error").textContent = "That is not a token for a user (python -m services.gateway.token).";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.removeItem(DEMO_KEY);
    $("viewer-token").value = "";
    switchViewer(claims.user);
  });
  showSignIn();
  // One click or none: on make run's server the page signs in as the viewer by itself.
  tokenFor(viewer()).catch(() => showSignIn());
}

// -- status: the data set and the model ----------------------------------------------------

async function loadDataset() {
  const banner = $("dataset-banner");
  const text = $("dataset-text");
  try {
    const data = await api("/dataset");
    const facts = `${count(data.titles)} titles, ${count(data.ratings)} ratings`;
    banner.classList.toggle("banner--demo", data.synthetic);
    if (data.synthetic) {
      text.replaceChildren(
        el("strong", "", "Demo data: synthetic titles and users"),
        el("span", "banner-facts", facts),
      );
    } else {
      text.replaceChildren(el("span", "", facts));
    }
  } catch (error) {
    banner.classList.add("banner--problem");
    text.textContent = "The catalogue's status is unknown right now.";
    $("status-error").replaceChildren(el("strong", "", LEADS[error.status] || "Problem."), " ", error.message);
  }
}

async function loadModel() {
  const chip = $("model-info");
  try {
    const model = await api("/model");
    const details = [];
    const trained = new Date(model.created_at);
    if (!Number.isNaN(trained.getTime())) {
      details.push(`trained ${trained.toLocaleDateString("en-GB", { dateStyle: "medium" })}`);
    }
    const rmse = model.metrics && model.metrics.svd && model.metrics.svd.rmse;
    if (typeof rmse === "number") details.push(`RMSE ${fixed(rmse)}`);
    details.push(`${count(model.users)} users`);
    chip.replaceChildren(
      el("span", "", "Model"),
      el("span", "chip-version", model.version),
      el("span", "model-details", details.join(" · ")),
    );
  } catch (error) {
    chip.classList.add("model-info--none");
    chip.textContent =
      error.status === 503
        ? "No model yet: picks and predictions appear once one has been trained."
        : "Model details are unavailable right now.";
  }
}

// -- title cards ---------------------------------------------------------------------------

/** One card per item: `{id, card, score?, because?}`; `kind` says what the score means, `level`
 * is the heading level of the card's title (one below the list's own heading). */
function titleCard(item, kind, index, level = 3) {
  const card = item.card;
  const node = el("li", "card");
  node.dataset.testid = "title-card";
  node.dataset.titleId = item.id;
  node.dataset.platform = card ? card.platform : "";

  const top = el("div", "card-top");
  if (card) top.append(pill(card.platform));
  const also = el("span", "also-on");
  also.dataset.testid = "also-on";
  also.hidden = true;
  top.append(also);
  if (kind === "pick") top.append(el("span", "rank", `#${index + 1}`));
  node.append(top);

  const heading = el(`h${level}`, "card-title");
  heading.append(link(titleUrl(item.id), card ? titleCase(card.title) : item.id, "card-link"));
  node.append(heading);
  if (card) {
    const meta = [typeLabel(card.type), card.release_year, card.duration].filter(Boolean);
    node.append(el("p", "card-meta", meta.join(" · ")));
    if (item.genres && item.genres.length) {
      const genres = el("p", "card-genres", item.genres.map(genreName).join(", "));
      genres.dataset.testid = "genres";
      node.append(genres);
    }
  } else {
    node.append(el("p", "card-meta", "title details unavailable"));
  }

  if (item.because && item.because.length) {
    const why = el("p", "card-because", "Because you liked ");
    why.dataset.testid = "because";
    item.because.forEach((liked, i) => {
      if (i) why.append(", ");
      why.append(link(titleUrl(liked.title_id), liked.title ? titleCase(liked.title.title) : liked.title_id));
    });
    node.append(why);
  }

  const foot = el("div", "card-foot");
  const score = el("span", "card-score");
  score.dataset.testid = "card-score";
  if (kind === "pick") {
    score.append(el("strong", "", fixed(item.score)), " / 5 predicted");
  } else if (kind === "similar") {
    score.append(el("strong", "", `${Math.round(item.score * 100)}%`), " alike");
  } else if (card && card.score != null) {
    score.append("★ ", el("strong", "", fixed(card.score, 1)), item.votes ? ` · ${plural(item.votes, "rating")}` : "");
  } else {
    score.append("No ratings yet");
  }
  foot.append(score);
  node.append(foot);
  return node;
}

function addAlsoOn(node, platforms) {
  const also = node.querySelector(".also-on");
  const shown = new Set([...also.querySelectorAll(".pill")].map((p) => p.dataset.platform));
  const fresh = platforms.filter((p) => !shown.has(p) && p !== node.dataset.platform);
  if (!fresh.length) return;
  if (!shown.size) also.append("also on ");
  for (const platform of fresh) {
    const badge = pill(platform, true);
    badge.dataset.platform = platform;
    badge.dataset.testid = "also-on-platform";
    also.append(badge);
  }
  also.hidden = false;
}

/** The recommender's items (with the gateway's cards) as card items. */
const fromPicks = (items) =>
  items.map((item) => ({ id: item.title_id, card: item.title, score: item.score, because: item.because }));

function cardList(items, kind, level = 3) {
  const list = el("ol", "cards");
  list.append(...items.map((item, index) => titleCard(item, kind, index, level)));
  return list;
}

const DEGRADED_NOTE = "The catalogue is down: title details unavailable.";

// -- the router ----------------------------------------------------------------------------

const titleUrl = (id) => `/?title=${encodeURIComponent(id)}`;

function searchUrl({ q = "", platform = "", type = "", genre = "" }) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (platform) params.set("platform", platform);
  if (type) params.set("type", type);
  if (genre) params.set("genre", genre);
  return `/?${params}`;
}

function currentRoute() {
  const params = new URLSearchParams(location.search);
  const title = params.get("title");
  if (title !== null) return { view: "title", id: title.trim().toLowerCase() };
  const q = (params.get("q") || "").trim();
  const genre = (params.get("genre") || "").trim().toLowerCase();
  if (q || genre) {
    const platform = (params.get("platform") || "").toLowerCase();
    const type = (params.get("type") || "").toLowerCase();
    return {
      view: "search",
      q,
      genre,
      platform: platform === "all" || PLATFORMS[platform] ? platform : "",
      type: type === "movie" || type === "tv show" ? type : "",
    };
  }
  if (params.get("tab") === "explore") return { view: "explore" };
  return { view: "home" };
}

let pendingScroll = null;

function restoreScroll() {
  if (pendingScroll === null) return;
  const y = pendingScroll;
  pendingScroll = null;
  requestAnimationFrame(() => window.scrollTo(0, y));
}

/** Go to a page of the app: a new history entry (or the current one replaced). */
function go(url, { replace = false, focus = true } = {}) {
  const depth = (history.state && history.state.depth) || 0;
  if (!replace) history.replaceState({ ...history.state, scrollY: window.scrollY }, "");
  // depth counts the pages of the app behind this one: the title page's Back button needs one.
  history[replace ? "replaceState" : "pushState"]({ scrollY: 0, depth: replace ? depth : depth + 1 }, "", url);
  if (!replace) window.scrollTo(0, 0);
  render({ focus });
}

let shownRoute = null;

function render({ focus = false, refresh = false } = {}) {
  const route = currentRoute();
  const same = shownRoute && JSON.stringify(shownRoute) === JSON.stringify(route);
  if (same && !refresh) return;
  shownRoute = route;
  if (!same) {
    viewStarted(route.view);
    // A screen reader hears where it landed, once it is there (firstContent moves the focus).
    focusPending = focus;
    focusFrom = document.activeElement;
  }
  for (const view of document.querySelectorAll("[data-view]")) {
    view.hidden = view.dataset.view !== route.view;
  }
  const tab = route.view === "explore" ? "explore" : route.view === "home" ? "home" : null;
  for (const item of document.querySelectorAll(".tab")) {
    if (item.dataset.tab === tab) item.setAttribute("aria-current", "page");
    else item.removeAttribute("aria-current");
  }
  const input = $("search-input");
  if (document.activeElement !== input) input.value = route.view === "search" ? route.q : "";
  closeSuggestions();

  if (route.view === "home") showHome();
  else if (route.view === "search") showSearch(route);
  else if (route.view === "title") showTitle(route.id, same);
  else showExplore();
}

function setupRouter() {
  history.scrollRestoration = "manual";
  window.addEventListener("popstate", (event) => {
    pendingScroll = event.state && typeof event.state.scrollY === "number" ? event.state.scrollY : 0;
    render({ focus: true });
  });
  // Links inside the app move through history instead of reloading the page.
  document.addEventListener("click", (event) => {
    const anchor = event.target.closest("a[href]");
    if (!anchor || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || anchor.target) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname !== "/") return;
    event.preventDefault();
    go(url.pathname + url.search);
  });
}

// -- the search box ------------------------------------------------------------------------

const suggestTicket = latest();
let closeSuggestions = () => {};

function setupSearch() {
  const SHOWN = 8;
  const form = $("search-form");
  const input = $("search-input");
  const list = $("search-suggestions");
  let timer = 0;
  let items = [];
  let active = -1;

  closeSuggestions = () => {
    clearTimeout(timer);
    suggestTicket(); // an answer still on its way is for older text
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    items = [];
    active = -1;
  };

  function highlight(index) {
    active = index;
    [...list.children].forEach((option, i) => option.setAttribute("aria-selected", i === index));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(found, text) {
    items = found;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (!found.length) {
      const none = el("li", "suggestion suggestion--none", `No titles match “${text}”: press Enter to search the plots and people too`);
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.setAttribute("aria-selected", "false");
      none.id = "suggestion-none";
      list.replaceChildren(none);
    } else {
      list.replaceChildren(
        ...found.map((item, i) => {
          const option = el("li", "suggestion");
          option.id = `suggestion-${i}`;
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", "false");
          option.dataset.titleId = item.id;
          const meta = [platformName(item.platform), item.release_year, typeLabel(item.type)];
          option.append(
            el("span", "suggestion-title", titleCase(item.title)),
            el("span", "suggestion-meta", meta.join(" · ")),
          );
          option.addEventListener("click", () => pick(i));
          return option;
        }),
      );
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function pick(index) {
    const item = items[index];
    closeSuggestions();
    if (!item) return;
    input.value = "";
    input.blur();
    go(titleUrl(item.id));
  }

  // Completions of what was typed first (/titles/suggest); when they are few, the full search
  // adds titles found by a person's name, a word of the plot or despite a typo.
  async function suggest(text) {
    const isCurrent = suggestTicket();
    try {
      let found = [];
      if (text.length >= 2) {
        const params = new URLSearchParams({ q: text, limit: String(SHOWN) });
        found = (await api("/titles/suggest", params, { cache: true })).items;
        if (!isCurrent()) return;
      }
      if (found.length < SHOWN) {
        const params = new URLSearchParams({ q: text, limit: String(SHOWN) });
        const page = await api("/titles", params, { cache: true });
        if (!isCurrent()) return;
        const shown = new Set(found.map((item) => item.id));
        found = found.concat(page.items.filter((item) => !shown.has(item.id))).slice(0, SHOWN);
      }
      show(found, text);
    } catch {
      // The list stays closed; Enter still searches, and the results page explains a failure.
      if (isCurrent()) closeSuggestions();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    suggestTicket();
    const text = input.value.trim();
    if (!text) return closeSuggestions();
    timer = setTimeout(() => suggest(text), 150);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        closeSuggestions();
      }
      return;
    }
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = active + step;
      highlight(next < -1 ? items.length - 1 : next >= items.length ? -1 : next);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); // open the suggestion, do not search for the text
      pick(active);
    }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    closeSuggestions();
    if (!q) return input.focus();
    const route = currentRoute();
    // A new query keeps the platform choice of the results on screen, not their other filters.
    go(searchUrl({ q, platform: route.view === "search" ? route.platform : "" }), { focus: false });
  });

  // Keep the focus in the input while clicking a suggestion, so blur does not close the list.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  input.addEventListener("blur", () => closeSuggestions());

  // "/" jumps to the search box from anywhere but a field.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest("input, textarea, select, [contenteditable], dialog")) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
}

// -- For you (the home page) ---------------------------------------------------------------

const forYouTicket = latest();

async function showHome() {
  document.title = "For you · streamrec";
  $("onboarding").hidden = Boolean(storedServices());
  const region = $("foryou-region");
  const note = $("foryou-note");
  const isCurrent = forYouTicket();
  const chosen = services();
  const user = viewer();
  delete region.dataset.platforms;
  if (!chosen.length) {
    note.textContent = "";
    region.replaceChildren(noServicesState("picks"));
    return firstContent("home");
  }
  region.setAttribute("aria-busy", "true");
  region.replaceChildren(skeleton(PICKS, "Loading your picks…"));
  note.textContent = `Finding picks for user ${user} ${onServices(chosen)}…`;
  const params = withPlatforms(new URLSearchParams({ n: String(PICKS) }), chosen);
  try {
    const answer = await api(`/users/${user}/recommendations`, params, { user });
    if (!isCurrent()) return;
    const lines = {
      model: `Picked for user ${user} from the titles you rated highly, best first, ${onServices(chosen)}.`,
      content: `Picked for user ${user} from the titles you rated here, ${onServices(chosen)}; the model learns your taste at its next training.`,
      cold_start: `New here: the best-rated titles ${onServices(chosen)}. Rate a few titles to get picks of your own.`,
    };
    note.textContent = [lines[answer.reason] || "", answer.degraded ? DEGRADED_NOTE : ""]
      .filter(Boolean)
      .join(" ");
    region.dataset.reason = answer.reason;
    if (answer.items.length) {
      region.replaceChildren(cardList(fromPicks(answer.items), "pick", 2));
    } else {
      region.replaceChildren(
        state({
          icon: "✓",
          title: "You have seen it all",
          text: `Nothing is left to suggest ${onServices(chosen)}: add a service to see more.`,
          actions: [button("Change my services", "btn btn-secondary", openServicesDialog)],
          testid: "empty",
        }),
      );
    }
    // Which viewer and services the cards on screen answer (the tests wait for it).
    region.dataset.platforms = chosen.join(",");
    region.dataset.user = user;
  } catch (error) {
    if (!isCurrent()) return;
    note.textContent = "";
    if (error.signIn) {
      await showPopularInstead(region, chosen, isCurrent);
    } else {
      region.replaceChildren(errorState(error, () => render({ refresh: true })));
    }
  } finally {
    if (isCurrent()) {
      region.removeAttribute("aria-busy");
      firstContent("home");
    }
  }
}

/** Not signed in: say so, and show what anyone gets meanwhile (the cold-start picks). */
async function showPopularInstead(region, chosen, isCurrent) {
  const prompt = signInState(false);
  region.replaceChildren(prompt);
  try {
    const params = withPlatforms(new URLSearchParams({ n: String(PICKS) }), chosen);
    const answer = await api("/recommendations/popular", params);
    if (!isCurrent()) return;
    const heading = el("h2", "", `Popular ${onServices(chosen)}`);
    region.append(heading, cardList(fromPicks(answer.items), "popular"));
  } catch {
    // The prompt to sign in is the content; popular titles are a bonus.
  }
}

// -- search results ------------------------------------------------------------------------

const searchTicket = latest();
const search = { route: null, offset: 0, total: 0, works: new Map(), list: null };
let genresLoaded = null;

async function loadGenres() {
  genresLoaded ||= api("/genres", null, { cache: true })
    .then((genres) => {
      const select = $("filter-genre");
      const chosen = select.value;
      const sorted = [...genres].sort((a, b) => a.genre.localeCompare(b.genre));
      select.replaceChildren(
        new Option("Any genre", ""),
        ...sorted.map((g) => new Option(`${genreName(g.genre)} (${count(g.count)})`, g.genre)),
      );
      ensureOption(select, chosen);
    })
    .catch(() => {
      genresLoaded = null; // try again next time; the filter keeps "Any genre" meanwhile
    });
  return genresLoaded;
}

function ensureOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) {
    select.append(new Option(genreName(value), value));
  }
  select.value = value;
}

function searchPlatforms(route) {
  if (route.platform === "all") return ALL_PLATFORMS;
  if (route.platform) return [route.platform];
  return services();
}

function describeScope(route) {
  if (route.platform === "all") return "on all platforms";
  if (route.platform) return `on ${platformName(route.platform)}`;
  const list = services();
  return list.length === ALL_PLATFORMS.length ? "on your services (all four)" : `on your services (${servicesText(list)})`;
}

function showSearch(route) {
  const label = route.q ? `Results for “${route.q}”` : `${genreName(route.genre)}: the best rated`;
  document.title = `${label} · streamrec`;
  $("search-heading").textContent = label;
  $("filter-platform").value = route.platform;
  $("filter-type").value = route.type;
  ensureOption($("filter-genre"), route.genre);
  loadGenres();
  loadResults(route, 0);
}

async function loadResults(route, offset) {
  const region = $("search-region");
  const countLine = $("search-count");
  const more = $("search-more");
  const isCurrent = searchTicket();
  const platforms = searchPlatforms(route);
  if (!platforms.length) {
    countLine.textContent = "";
    more.hidden = true;
    region.replaceChildren(noServicesState("search results"));
    return firstContent("search");
  }
  const params = new URLSearchParams();
  if (route.q) params.set("q", route.q);
  withPlatforms(params, platforms);
  if (route.type) params.set("type", route.type);
  if (route.genre) params.set("genre", route.genre);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String(offset));
  if (offset === 0) {
    delete region.dataset.answers;
    countLine.textContent = "Searching…";
    more.hidden = true;
    region.setAttribute("aria-busy", "true");
    region.replaceChildren(skeleton(8, "Searching…"));
  } else {
    more.disabled = true;
    more.textContent = "Loading more…";
  }
  try {
    const page = await api("/titles", params, { cache: true });
    if (!isCurrent()) return;
    if (offset === 0) {
      search.works = new Map();
      search.list = el("ol", "cards");
      search.list.dataset.testid = "results";
      region.replaceChildren(search.list);
    }
    search.route = route;
    search.offset = offset + page.items.length;
    search.total = page.total;
    addResults(page.items);
    const scope = describeScope(route);
    countLine.textContent = page.total
      ? `${plural(page.total, "title")} ${scope}`
      : `No titles ${scope}`;
    if (!page.total) region.replaceChildren(noResults(route));
    more.hidden = search.offset >= page.total || !page.items.length;
    // Which search the cards on screen answer, and how far (the tests wait for it).
    region.dataset.answers = searchUrl(route);
    region.dataset.shown = String(search.offset);
  } catch (error) {
    if (!isCurrent()) return;
    if (offset === 0) {
      countLine.textContent = "";
      region.replaceChildren(errorState(error, () => loadResults(route, 0)));
    } else {
      region.append(errorState(error, () => loadResults(route, offset), { compact: true }));
    }
  } finally {
    if (isCurrent()) {
      region.removeAttribute("aria-busy");
      more.disabled = false;
      more.textContent = "Show more";
      firstContent("search");
    }
  }
}

/** Copies of one work on several platforms become one card that says where else it is. */
function addResults(items) {
  for (const item of items) {
    const known = search.works.get(item.work_id);
    if (known) {
      addAlsoOn(known, [item.platform]);
      continue;
    }
    const card = {
      title: item.title,
      platform: item.platform,
      type: item.type,
      release_year: item.release_year,
      duration: durationText(item.duration_int, item.duration_type),
      score: item.score,
    };
    const node = titleCard(
      { id: item.id, card, genres: genresOf(item.listed_in), votes: item.votes },
      "result",
      search.works.size,
      2,
    );
    search.works.set(item.work_id, node);
    search.list.append(node);
  }
}

function noResults(route) {
  const actions = [];
  if (route.platform !== "all") {
    actions.push(
      button("Search all platforms", "btn btn-primary", () =>
        go(searchUrl({ ...route, platform: "all" }), { replace: true, focus: false }),
      ),
    );
  }
  if (route.type || (route.genre && route.q)) {
    actions.push(
      button("Clear the filters", "btn btn-secondary", () =>
        go(searchUrl({ q: route.q, platform: route.platform }), { replace: true, focus: false }),
      ),
    );
  }
  const what = route.q ? `“${route.q}”` : genreName(route.genre);
  return state({
    icon: "?",
    title: `Nothing matches ${what} ${describeScope(route)}`,
    text: "Check the spelling, or try a person's name or a word of the story.",
    actions,
    testid: "empty",
  });
}

function setupFilters() {
  const filters = $("filters");
  filters.addEventListener("change", () => {
    const route = currentRoute();
    if (route.view !== "search") return;
    go(
      searchUrl({
        q: route.q,
        platform: $("filter-platform").value,
        type: $("filter-type").value,
        genre: $("filter-genre").value,
      }),
      { replace: true, focus: false },
    );
  });
  filters.addEventListener("submit", (event) => event.preventDefault());
  $("search-more").addEventListener("click", () => {
    if (search.route) loadResults(search.route, search.offset);
  });
}

// -- a title's page ------------------------------------------------------------------------

const titleTicket = latest();
const title = { id: null, data: null, similarAll: false };

async function showTitle(id, refresh) {
  const region = $("title-region");
  const body = $("title-body");
  const similar = $("similar-section");
  const isCurrent = titleTicket();
  if (!refresh || title.id !== id) {
    title.similarAll = false;
    resetRating();
  }
  title.id = id;
  $("title-back").hidden = !(history.state && history.state.depth);
  if (!TITLE_ID.test(id)) {
    body.hidden = similar.hidden = true;
    document.title = "Not a title · streamrec";
    region.replaceChildren(
      state({
        icon: "?",
        title: "This link does not name a title",
        text: `“${id}” is not a title id: those are a platform letter and a number, like ns3686.`,
        actions: [link("/", "Go to your picks", "btn btn-primary")],
        testid: "error",
      }),
      hiddenHeading("Not a title"),
    );
    return firstContent("title");
  }
  if (!refresh) {
    body.hidden = similar.hidden = true;
    region.replaceChildren(titleSkeleton());
  }
  try {
    const data = await api(`/titles/${encodeURIComponent(id)}`, null, { cache: true });
    if (!isCurrent()) return;
    title.data = data;
    region.replaceChildren();
    fillTitle(data);
    body.hidden = similar.hidden = false;
    firstContent("title");
    loadVerdict(data);
    loadSimilar(data);
  } catch (error) {
    if (!isCurrent()) return;
    body.hidden = similar.hidden = true;
    document.title = "Title not found · streamrec";
    region.replaceChildren(
      error.status === 404
        ? state({
            icon: "?",
            title: "No such title",
            text: `${error.message}: it may have left the catalogue. Search for it by name instead.`,
            actions: [link("/", "Go to your picks", "btn btn-primary")],
            testid: "error",
          })
        : errorState(error, () => showTitle(id)),
      hiddenHeading("Title not found"),
    );
    firstContent("title");
  }
}

/** Every view has an h1; a title that could not be shown still names the page. */
function hiddenHeading(text) {
  const heading = el("h1", "visually-hidden", text);
  heading.tabIndex = -1;
  return heading;
}

function titleSkeleton() {
  const box = el("div", "title-main");
  box.append(el("p", "visually-hidden", "Loading the title…"));
  for (const kind of ["bone--pill", "bone--title", "bone--short", "bone--block"]) {
    const bone = el("span", `bone ${kind}`);
    bone.setAttribute("aria-hidden", "true");
    box.append(bone);
  }
  return box;
}

function fillTitle(data) {
  const name = titleCase(data.title);
  document.title = `${name} · streamrec`;
  $("title-body").dataset.platform = data.platform;
  $("title-body").dataset.titleId = data.id;

  const eyebrow = $("title-eyebrow");
  const facts = [typeLabel(data.type), data.release_year, maturity(data.rating)];
  const length = durationText(data.duration_int, data.duration_type);
  if (length) facts.push(length);
  eyebrow.replaceChildren(pill(data.platform), " ", el("span", "", facts.join(" · ")));

  $("title-heading").textContent = name;
  const genres = $("title-genres");
  genres.replaceChildren(
    ...data.genres.map((genre) => {
      const item = el("li");
      item.append(link(searchUrl({ genre }), genreName(genre)));
      return item;
    }),
  );
  genres.hidden = !data.genres.length;
  $("title-description").textContent = data.description
    ? describe(data)
    : "No description was delivered for this title.";

  const rows = [];
  if (data.cast.length) rows.push(["Cast", peopleList(data.cast), "fact--people"]);
  if (data.director) rows.push(["Director", peopleList(data.director.split(/,\s*/)), "fact--people"]);
  if (data.country) rows.push(["Country", titleCase(data.country)]);
  rows.push(["Rating", maturity(data.rating)]);
  rows.push(["Duration", length || "unknown"]);
  rows.push(["Released", data.release_year]);
  if (data.date_added) {
    const added = new Date(`${data.date_added}T00:00:00`);
    rows.push([`Added to ${platformName(data.platform)}`, added.toLocaleDateString("en-GB", { dateStyle: "medium" })]);
  }
  rows.push([
    "Average rating",
    data.score == null ? "no ratings yet" : `${fixed(data.score)} / 5 from ${plural(data.votes, "rating")}`,
  ]);
  $("title-facts").replaceChildren(...definitions(rows, "facts").childNodes);
  fillWhere(data);
}

/** Descriptions are stored in lower case: capitalise each sentence, the pronoun I, and the
 * names of its cast and director, and its own title, wherever they appear. */
function describe(data) {
  let text = String(data.description)
    .replace(/(^|[.!?]\s+)(\p{L})/gu, (_, before, letter) => before + letter.toUpperCase())
    .replace(/\bi\b/g, "I");
  const people = [...data.cast, ...(data.director ? data.director.split(/,\s*/) : [])];
  for (const name of [...people, data.title].filter((n) => n && n.length > 3)) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    text = text.replace(new RegExp(`(?<![\\p{L}])${escaped}(?![\\p{L}])`, "giu"), titleCase(name));
  }
  return text;
}

/** Names link to a search for them (search covers the cast and the directors). */
function peopleList(people) {
  const list = el("ul", "people");
  const shown = people.slice(0, CAST_SHOWN);
  const add = (person) => {
    const item = el("li");
    item.append(link(searchUrl({ q: person }), titleCase(person)));
    return item;
  };
  list.append(...shown.map(add));
  if (people.length > shown.length) {
    const rest = el("li");
    rest.append(
      button(`and ${people.length - shown.length} more`, "btn btn-link", () => {
        rest.remove();
        list.append(...people.slice(CAST_SHOWN).map(add));
      }),
    );
    list.append(rest);
  }
  return list;
}

function fillWhere(data) {
  const mine = services();
  const note = (platform) => {
    const yours = mine.includes(platform);
    return el("span", `where-note${yours ? " where-note--yours" : ""}`, yours ? "✓ one of your services" : "not one of your services");
  };
  const here = el("li");
  here.append(pill(data.platform), " ", note(data.platform));
  const rows = [here];
  if (data.also_on.length) {
    const also = el("li", "also-on-row");
    also.dataset.testid = "also-on";
    also.append("Also on ");
    for (const copy of data.also_on) {
      const to = link(titleUrl(copy.id), "");
      to.append(pill(copy.platform));
      to.setAttribute("aria-label", `${platformName(copy.platform)}: the same title there`);
      also.append(to, " ", note(copy.platform), " ");
    }
    rows.push(also);
  } else {
    rows.push(el("li", "where-note", "Only on this platform."));
  }
  $("where-list").replaceChildren(...rows);
}

// -- "Would I like it?" --------------------------------------------------------------------

const verdictTicket = latest();

async function loadVerdict(data) {
  const region = $("verdict");
  const isCurrent = verdictTicket();
  const user = viewer();
  region.replaceChildren(el("p", "loading-text", "Asking the model…"));
  region.setAttribute("aria-busy", "true");
  try {
    const params = new URLSearchParams({ user_id: user, title_id: data.id });
    const answer = await api("/predict", params, { user });
    if (!isCurrent()) return;
    region.replaceChildren(renderVerdict(answer));
  } catch (error) {
    if (isCurrent()) region.replaceChildren(errorState(error, () => loadVerdict(data), { compact: true }));
  } finally {
    if (isCurrent()) region.removeAttribute("aria-busy");
  }
}

function renderVerdict(answer) {
  const yes = answer.recommend;
  const box = el("div", `verdict ${yes ? "verdict--yes" : "verdict--no"}`);
  box.dataset.recommend = String(yes);

  const head = el("div", "verdict-head");
  const words = el("div", "verdict-words");
  words.append(
    el("p", "verdict-label", yes ? "Recommended" : "Not recommended"),
    el("p", "verdict-for", `for user ${answer.user_id}`),
  );
  const score = el("p", "verdict-score");
  score.dataset.testid = "verdict-score";
  score.append(el("strong", "", fixed(answer.score)), el("span", "", " / 5"));
  head.append(el("span", "verdict-icon", yes ? "✓" : "✕"), words, score);
  head.firstChild.setAttribute("aria-hidden", "true");

  // The bar is decoration: the numbers above and below say the same in words.
  const bar = el("div", "scorebar");
  bar.setAttribute("aria-hidden", "true");
  const fill = el("span", "scorebar-fill");
  fill.style.width = `${Math.max(0, Math.min(100, (answer.score / 5) * 100))}%`;
  const mark = el("span", "scorebar-threshold");
  mark.style.left = `${(answer.threshold / 5) * 100}%`;
  bar.append(fill, mark);

  const reason = el("p", "verdict-reason", REASONS[answer.reason] || answer.reason);
  reason.dataset.testid = "verdict-reason";
  box.append(head, bar, el("p", "scorebar-legend", `Recommended from ${fixed(answer.threshold, 1)} up.`), reason);
  if (answer.degraded) box.append(el("p", "muted", DEGRADED_NOTE));
  return box;
}

// -- rate it -------------------------------------------------------------------------------

function resetRating() {
  $("rate-form").reset();
  $("rate-form").querySelector(".stars").dataset.value = "";
  const status = $("rate-status");
  status.textContent = "";
  status.className = "rate-status";
}

function setupTitle() {
  $("title-back").addEventListener("click", () => history.back());
}

function setupRating() {
  const form = $("rate-form");
  const stars = form.querySelector(".stars");
  const status = $("rate-status");
  form.addEventListener("change", () => {
    stars.dataset.value = form.elements.rating.value;
    status.textContent = "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rating = Number(form.elements.rating.value);
    status.className = "rate-status";
    if (!rating) {
      status.textContent = "Choose from 1 to 5 stars first.";
      return;
    }
    const user = viewer();
    const button = $("rate-button");
    button.disabled = true;
    try {
      const response = await fetch("/ratings", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          Authorization: `Bearer ${await tokenFor(user)}`,
        },
        body: JSON.stringify({ user_id: Number(user), title_id: title.id, rating }),
      }).catch(() => {
        throw new ApiError("The service cannot be reached.", 0);
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(errorText(response.status, body), response.status);
      status.classList.add("rate-status--saved");
      const stars = plural(rating, "star");
      status.textContent = body.replaced
        ? `Changed: you now rate it ${stars}. Your picks take it into account.`
        : `Saved: ${stars}. Your picks take it into account.`;
    } catch (error) {
      status.classList.add("rate-status--error");
      status.textContent = error.signIn ? "Sign in to rate titles." : `${LEADS[error.status] || "Not saved."} ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
}

// -- More like this ------------------------------------------------------------------------

const similarTicket = latest();

async function loadSimilar(data) {
  const region = $("similar-region");
  const note = $("similar-note");
  const isCurrent = similarTicket();
  const platforms = title.similarAll ? ALL_PLATFORMS : services();
  delete region.dataset.titleId;
  if (!platforms.length) {
    note.textContent = "";
    region.replaceChildren(noServicesState("titles like this one"));
    return;
  }
  region.setAttribute("aria-busy", "true");
  region.replaceChildren(skeleton(5, "Finding titles like this one…"));
  const params = withPlatforms(new URLSearchParams({ n: String(PICKS) }), platforms);
  try {
    const answer = await api(`/titles/${encodeURIComponent(data.id)}/similar`, params, { cache: true });
    if (!isCurrent()) return;
    const scope = title.similarAll ? "on all four services" : onServices(platforms);
    note.textContent = [
      answer.reason === "unknown_title"
        ? "This title arrived after the model was trained, so it cannot be compared yet."
        : `Alike in franchise, genres, cast, director and story, most alike first, ${scope}.`,
      answer.degraded ? DEGRADED_NOTE : "",
    ]
      .filter(Boolean)
      .join(" ");
    if (answer.items.length) {
      region.replaceChildren(cardList(fromPicks(answer.items), "similar"));
    } else {
      const actions = title.similarAll
        ? []
        : [
            button("Show all platforms", "btn btn-secondary", () => {
              title.similarAll = true;
              loadSimilar(data);
            }),
          ];
      region.replaceChildren(
        state({ icon: "∅", title: `Nothing like it ${scope}`, text: "The titles most like it stream elsewhere.", actions, testid: "empty" }),
      );
    }
    region.dataset.titleId = data.id;
  } catch (error) {
    if (isCurrent()) region.replaceChildren(errorState(error, () => loadSimilar(data)));
  } finally {
    if (isCurrent()) region.removeAttribute("aria-busy");
  }
}

// -- Explore: the catalogue questions ------------------------------------------------------

let explored = false;
const askTickets = new Map();

function showExplore() {
  document.title = "Explore the catalogue · streamrec";
  firstContent("explore");
  if (explored) return;
  explored = true;
  // The first visit answers each question as it stands: a place to start, not four blank forms.
  for (const section of document.querySelectorAll("[data-question]")) ask(section);
  // Say so before a click leads nowhere: the report is built by a separate job.
  fetch("/report", { method: "HEAD" })
    .then((response) => {
      if (response.status !== 404) return;
      const links = document.querySelector(".report-links");
      links.before(el("p", "warning", "No report has been built on this server yet (python -m loader.report builds it)."));
    })
    .catch(() => {});
}

function setupQuestions() {
  for (const section of document.querySelectorAll("[data-question]")) {
    const form = section.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      ask(section);
    });
  }
}

async function ask(section) {
  if (!askTickets.has(section)) askTickets.set(section, latest());
  const isCurrent = askTickets.get(section)();
  const kind = section.dataset.question;
  const form = section.querySelector("form");
  const alert = section.querySelector(".alert");
  const result = section.querySelector(".answer");
  const submit = form.querySelector("button[type=submit]");
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (field.name && field.value.trim() !== "") params.append(field.name, field.value.trim());
  }
  submit.disabled = true;
  submit.textContent = "Asking…";
  try {
    const answer = await api(`/${kind}`, params);
    if (!isCurrent()) return;
    alert.replaceChildren();
    result.replaceChildren(el("p", "answer-summary", summary(kind, answer)), answerList(answer));
    result.dataset.query = kind;
  } catch (error) {
    if (!isCurrent()) return;
    result.replaceChildren();
    delete result.dataset.query;
    alert.replaceChildren(el("strong", "", LEADS[error.status] || "Something went wrong."), " ", error.message);
  } finally {
    if (isCurrent()) {
      submit.disabled = false;
      submit.textContent = "Ask";
    }
  }
}

function summary(kind, a) {
  const on = platformName(a.platform);
  switch (kind) {
    case "get_max_duration":
      return `The longest is ${titleCase(a.title)}: ${durationText(a.duration_int, a.duration_type)}.`;
    case "get_score_count":
      return `${plural(a.count, `${on} title`)} from ${a.year} ${a.count === 1 ? "has" : "have"} a mean rating above ${a.scored}.`;
    case "get_count_platform":
      return `${on} has ${plural(a.count, "title")}.`;
    case "get_actor":
      return `${titleCase(a.actor)} appears in ${plural(a.appearances, `${on} title`)} from ${a.year}.`;
    default:
      return "";
  }
}

function answerList(answer) {
  const rows = { ...answer };
  if ("duration_int" in rows) {
    rows.duration = durationText(rows.duration_int, rows.duration_type);
    delete rows.duration_int;
    delete rows.duration_type;
  }
  const show = {
    platform: platformName,
    type: typeLabel,
    title: titleCase,
    actor: titleCase,
    count,
    appearances: count,
  };
  const pairs = Object.entries(rows).map(([key, value]) => [
    LABELS[key] || key.replace(/_/g, " "),
    show[key] ? show[key](value) : String(value),
  ]);
  const list = definitions(pairs);
  // The longest title is one: let the answer lead to its page.
  if (answer.id) {
    const open = el("p");
    open.append(link(titleUrl(answer.id), `Open ${titleCase(answer.title)}`));
    const wrap = document.createDocumentFragment();
    wrap.append(list, open);
    return wrap;
  }
  return list;
}

// -- wiring --------------------------------------------------------------------------------

function start() {
  setupRouter();
  setupServices();
  setupSignIn();
  setupSearch();
  setupFilters();
  setupTitle();
  setupRating();
  setupQuestions();
  loadDataset();
  loadModel();
  render();
}

start();
