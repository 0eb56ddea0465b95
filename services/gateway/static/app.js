// streamrec's page: a thin client over the gateway's public API (fetch + DOM, no framework).
// Every piece of data goes into the page through textContent, never innerHTML.
"use strict";

const PLATFORMS = { amazon: "Prime Video", disney: "Disney+", hulu: "Hulu", netflix: "Netflix" };
const REASONS = {
  model: "The model knows this user and this title, so this is a personal prediction.",
  unknown_user:
    "The model has never seen this user, so the answer uses the title's average only.",
  unknown_title:
    "The model has no ratings for this title yet, so the answer uses the user's usual ratings only.",
  unknown_user_and_title:
    "The model knows neither this user nor this title, so the answer is the overall average rating.",
};
const LEADS = {
  0: "Connection problem.",
  401: "Sign-in needed.",
  403: "Not allowed.",
  429: "Too many requests.",
  404: "Nothing found.",
  422: "Please check the input.",
  503: "Temporarily unavailable.",
};
const QUERY_FIELDS = {
  get_max_duration: ["platform", "year", "duration_type", "type"],
  get_score_count: ["platform", "scored", "year", "type"],
  get_count_platform: ["platform", "type"],
  get_actor: ["platform", "year", "type"],
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

const $ = (id) => document.getElementById(id);
const state = { title: null };

// -- helpers -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** GET a gateway path (as `user`, with their token, for per-user routes); resolves to the JSON
 * body or rejects with a message a person can read. */
async function api(path, params, user) {
  const headers = { Accept: "application/json" };
  if (user) headers.Authorization = `Bearer ${await tokenFor(user)}`;
  let response;
  try {
    response = await fetch(params ? `${path}?${params}` : path, { headers });
  } catch {
    throw new ApiError("The service cannot be reached", 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(errorText(response.status, body), response.status);
  if (body === null) throw new ApiError("The service sent an answer the page cannot read", 502);
  return body;
}

function errorText(status, body) {
  // 422 bodies carry a ready-made `message`; 404 and 503 a string `detail`.
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  return `The service answered with an error (HTTP ${status}).`;
}

function showError(region, error, lead) {
  region.replaceChildren();
  if (!error) return;
  const heading = lead || LEADS[error.status] || "Something went wrong.";
  region.append(el("strong", "", heading), " ", error.message || String(error));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
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

async function busy(button, label, task) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.textContent = original;
  }
}

// Titles are stored in lower case; a regex rather than \b so "schindler's" keeps its small s.
const titleCase = (text) =>
  String(text).replace(/(^|[\s("/:-])(\p{L})/gu, (_, before, letter) => before + letter.toUpperCase());
const fixed = (value, digits = 2) => Number(value).toFixed(digits);
const count = (value) => Number(value).toLocaleString("en-US");
const typeLabel = (type) => ({ movie: "Film", "tv show": "TV show" })[type] || type;
const platformName = (platform) => PLATFORMS[platform] || platform;
const plural = (n, word) => `${count(n)} ${word}${Number(n) === 1 ? "" : "s"}`;

function userId() {
  const value = $("user-id").value.trim();
  return /^[1-9][0-9]*$/.test(value) ? value : null;
}

const USER_HINT = { status: -1, message: "Enter a user id: a whole number from 1 up." };

function pill(platform) {
  const node = el("span", `pill pill--${platform}`, platformName(platform));
  node.dataset.testid = "platform";
  return node;
}

// -- sign-in: per-user answers need the user's token -------------------------------------

const TOKEN_KEY = "streamrec-token";

function tokenUser(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return { user: String(claims.sub), expires: Number(claims.exp) * 1000 };
  } catch {
    return null;
  }
}

/** A token for `user`: the one held, else one from the demo sign-in (make run only). */
async function tokenFor(user) {
  const held = sessionStorage.getItem(TOKEN_KEY);
  const claims = held && tokenUser(held);
  if (claims && claims.user === String(user) && claims.expires > Date.now() + 60_000) return held;
  let response;
  try {
    response = await fetch("/auth/demo", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ user_id: Number(user) }),
    });
  } catch {
    throw new ApiError("The service cannot be reached", 0);
  }
  if (response.status === 404 || response.status === 405) {
    throw new ApiError(`Sign in as user ${user} first (Sign in, then paste their token).`, 401);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(errorText(response.status, body), response.status);
  sessionStorage.setItem(TOKEN_KEY, body.token);
  showSignIn(true);
  return body.token;
}

function showSignIn(demo) {
  const held = sessionStorage.getItem(TOKEN_KEY);
  const claims = held && tokenUser(held);
  const chip = $("sign-in-state");
  chip.textContent = claims
    ? `Signed in as user ${claims.user}${demo ? " (demo)" : ""}`
    : "Not signed in";
}

function setupSignIn() {
  showSignIn(false);
  $("sign-in-button").addEventListener("click", () => {
    const token = (window.prompt("Paste a bearer token (python -m services.gateway.token)") || "")
      .trim();
    if (!token) return;
    const claims = tokenUser(token);
    if (!claims) return showError($("status-error"), { message: "That is not a token." });
    sessionStorage.setItem(TOKEN_KEY, token);
    $("user-id").value = claims.user;
    showSignIn(false);
    loadRecommendations();
  });
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
        " ",
        el("span", "banner-facts", facts),
      );
    } else {
      text.replaceChildren(el("span", "", facts));
    }
  } catch (error) {
    banner.classList.add("banner--problem");
    text.textContent = "The catalogue's status is unknown right now.";
    showError($("status-error"), error);
  }
}

async function loadModel() {
  const chip = $("model-info");
  try {
    const model = await api("/model");
    const parts = [el("span", "chip-label", "Model"), el("span", "chip-version", model.version)];
    const trained = new Date(model.created_at);
    const details = [];
    if (!Number.isNaN(trained.getTime())) {
      details.push(`trained ${trained.toLocaleDateString("en-GB", { dateStyle: "medium" })}`);
    }
    const rmse = model.metrics && model.metrics.svd && model.metrics.svd.rmse;
    if (typeof rmse === "number") details.push(`RMSE ${fixed(rmse)}`);
    details.push(`${count(model.users)} users`);
    parts.push(el("span", "chip-details", details.join(" · ")));
    chip.replaceChildren(...parts);
  } catch (error) {
    chip.classList.add("model-chip--none");
    chip.textContent =
      error.status === 503
        ? "No model yet: predictions will appear once one has been trained."
        : "Model details are unavailable right now.";
  }
}

// -- step 1: find a title and predict ------------------------------------------------------

function setupSearch() {
  const SHOWN = 8;
  const input = $("title-search");
  const list = $("title-suggestions");
  const ticket = latest();
  let timer = 0;
  let items = [];
  let active = -1;

  function close() {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    items = [];
    active = -1;
  }

  function highlight(index) {
    active = index;
    [...list.children].forEach((option, i) => option.setAttribute("aria-selected", i === index));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    }
  }

  function render(found, text) {
    items = found;
    active = -1;
    if (!found.length) {
      const none = el("li", "suggestion suggestion--none", `No titles match “${text}”`);
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      list.replaceChildren(none);
    } else {
      list.replaceChildren(
        ...found.map((item, i) => {
          const option = el("li", "suggestion");
          option.id = `title-option-${i}`;
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
    close();
    if (item) chooseTitle(item);
  }

  // Completions of what was typed first (/titles/suggest); when they are few, the full search
  // adds titles found by a person's name, a word of the plot or despite a typo.
  async function suggest(text) {
    const isCurrent = ticket();
    try {
      let found = [];
      if (text.length >= 2) {
        const params = new URLSearchParams({ q: text, limit: String(SHOWN) });
        found = (await api("/titles/suggest", params)).items;
        if (!isCurrent()) return;
      }
      if (found.length < SHOWN) {
        const page = await api("/titles", new URLSearchParams({ q: text, limit: String(SHOWN) }));
        if (!isCurrent()) return;
        const shown = new Set(found.map((item) => item.id));
        found = found.concat(page.items.filter((item) => !shown.has(item.id))).slice(0, SHOWN);
      }
      showError($("predict-error"), null);
      render(found, text);
    } catch (error) {
      if (!isCurrent()) return;
      close();
      showError($("predict-error"), error);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    ticket(); // an answer still on its way is for older text
    chooseTitle(null);
    const text = input.value.trim();
    if (!text) return close();
    timer = setTimeout(() => suggest(text), 200);
  });

  input.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); // choose the suggestion, do not submit the form yet
      pick(active);
    } else if (event.key === "Escape") {
      close();
    }
  });

  // Keep the focus in the input while clicking a suggestion, so blur does not close the list.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  input.addEventListener("blur", close);
}

function chooseTitle(item) {
  state.title = item;
  const chosen = $("chosen-title");
  if (!item) {
    chosen.textContent = "No title chosen yet.";
    chosen.classList.remove("chosen--set");
    return;
  }
  $("title-search").value = titleCase(item.title);
  const facts = [platformName(item.platform), item.release_year].filter(Boolean).join(" · ");
  chosen.replaceChildren(
    el("span", "", "Chosen: "),
    el("strong", "", titleCase(item.title)),
    el("span", "muted", ` · ${facts} · id ${item.id}`),
  );
  chosen.classList.add("chosen--set");
  chosen.dataset.titleId = item.id;
  loadSimilar();
  loadAlsoOn(item.id);
}

const alsoOnTicket = latest();

/** "Also on Hulu": the same film or show delivered by the other platforms. */
async function loadAlsoOn(titleId) {
  const isCurrent = alsoOnTicket();
  try {
    const title = await api(`/titles/${encodeURIComponent(titleId)}`);
    if (!isCurrent() || !title.also_on || !title.also_on.length) return;
    const also = el("span", "also-on");
    also.dataset.testid = "also-on";
    also.append(" · Also on ", ...title.also_on.map((copy) => pill(copy.platform)));
    $("chosen-title").append(also);
  } catch {
    // The chosen title still shows; only the other platforms' copies are missing.
  }
}

async function predict(event) {
  event.preventDefault();
  const region = $("predict-error");
  const verdict = $("verdict");
  const user = userId();
  if (!user) {
    showError(region, USER_HINT, "Almost there.");
    return $("user-id").focus();
  }
  if (!state.title) {
    showError(region, { message: "Choose a title from the suggestions first." }, "Almost there.");
    return $("title-search").focus();
  }
  await busy($("predict-button"), "Predicting…", async () => {
    try {
      const params = new URLSearchParams({ user_id: user, title_id: state.title.id });
      const answer = await api("/predict", params, user);
      showError(region, null);
      verdict.replaceChildren(renderVerdict(answer));
    } catch (error) {
      verdict.replaceChildren();
      showError(region, error);
    }
  });
}

function renderVerdict(answer) {
  const yes = answer.recommend;
  const box = el("article", `verdict ${yes ? "verdict--yes" : "verdict--no"}`);
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
  box.append(
    head,
    bar,
    el("p", "scorebar-legend", `Recommended from ${fixed(answer.threshold, 1)} up.`),
    reason,
    titleDetails(answer),
  );
  return box;
}

function titleDetails(answer) {
  const card = answer.title;
  const section = el("div", "title-details");
  if (!card) {
    const why = answer.degraded ? "title details unavailable" : "no details for this title";
    section.append(el("h3", "", answer.title_id), el("p", "muted", why));
    return section;
  }
  const facts = [
    ["Platform", platformName(card.platform)],
    ["Type", typeLabel(card.type)],
    ["Released", card.release_year],
    ["Duration", card.duration || "unknown"],
    ["Average rating", card.score == null ? "no ratings yet" : `${fixed(card.score)} / 5`],
  ];
  section.append(el("h3", "", titleCase(card.title)), definitions(facts));
  return section;
}

function definitions(pairs) {
  const list = el("dl", "facts");
  for (const [term, value] of pairs) {
    const row = el("div", "fact");
    row.append(el("dt", "", term), el("dd", "", value));
    list.append(row);
  }
  return list;
}

// -- steps 3 and 4: title cards ------------------------------------------------------------

function renderCards(list, items, kind) {
  list.replaceChildren(...items.map((item, index) => titleCard(item, index, kind)));
}

function titleCard(item, index, kind) {
  const card = item.title;
  const node = el("li", "card");
  node.dataset.testid = "title-card";
  node.dataset.titleId = item.title_id;
  node.dataset.platform = card ? card.platform : "";

  const top = el("div", "card-top");
  top.append(el("span", "rank", `#${index + 1}`));
  if (card) top.append(pill(card.platform));
  node.append(top);

  if (card) {
    const meta = [typeLabel(card.type), card.release_year, card.duration].filter(Boolean);
    if (card.score != null) meta.push(`average ${fixed(card.score)}`);
    node.append(el("h3", "card-title", titleCase(card.title)), el("p", "card-meta", meta.join(" · ")));
  } else {
    node.append(el("h3", "card-title", item.title_id), el("p", "card-meta", "title details unavailable"));
  }

  const score = el("p", "card-score");
  score.dataset.testid = "card-score";
  if (kind === "similar") {
    score.append(el("span", "", "similarity "), el("strong", "", fixed(item.score)));
  } else {
    score.append(el("strong", "", fixed(item.score)), el("span", "", " / 5 predicted"));
  }
  const check = el("button", "btn btn-link", "Predict");
  check.type = "button";
  check.setAttribute("aria-label", `Predict ${card ? titleCase(card.title) : item.title_id} for this user`);
  check.addEventListener("click", () => {
    chooseTitle({ id: item.title_id, ...(card || { title: item.title_id }) });
    $("predict-form").requestSubmit();
    $("predict-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  });
  if (item.because && item.because.length) {
    const names = item.because.map((b) => (b.title ? titleCase(b.title.title) : b.title_id));
    const why = el("p", "card-because", `Because you liked ${names.join(", ")}`);
    why.dataset.testid = "because";
    node.append(why);
  }
  const foot = el("div", "card-foot");
  foot.append(score, check);
  node.append(foot);
  return node;
}

const DEGRADED_NOTE = "The catalogue is down: title details unavailable.";

// Title cards from the gateway into `list`: busy while waiting; only the newest answer (the
// ticket's) is shown; `notes` says what the answer is, `onError` shows a failure.
async function showCards({ list, note, region, isCurrent, path, params, user, kind, notes, onError }) {
  list.setAttribute("aria-busy", "true");
  try {
    const answer = await api(path, params, user);
    if (!isCurrent()) return false;
    showError(region, null);
    note.textContent = notes(answer).join(" ");
    renderCards(list, answer.items, kind);
    return true;
  } catch (error) {
    if (isCurrent()) onError(error);
    return false;
  } finally {
    if (isCurrent()) list.removeAttribute("aria-busy");
  }
}

const recsTicket = latest();

async function loadRecommendations() {
  const list = $("recs-list");
  const note = $("recs-note");
  const region = $("recs-error");
  const platforms = [...document.querySelectorAll("#recs-form input[name=platform]:checked")].map(
    (box) => box.value,
  );
  const user = userId();
  $("recs-user").textContent = user || "?";
  const isCurrent = recsTicket();
  const fail = (error, lead) => {
    list.replaceChildren();
    delete list.dataset.platforms;
    note.textContent = "";
    showError(region, error, lead);
  };
  if (!user) return fail(USER_HINT, "Almost there.");
  if (!platforms.length) {
    return fail({ message: "Tick at least one platform." }, "Nothing to show.");
  }

  const params = new URLSearchParams({ n: $("recs-count").value.trim() || "10" });
  // No platform parameter at all means every platform: the short URL for the usual case.
  if (platforms.length < Object.keys(PLATFORMS).length) {
    for (const platform of platforms) params.append("platform", platform);
  }
  const shown = await showCards({
    list,
    note,
    region,
    isCurrent,
    path: `/users/${user}/recommendations`,
    params,
    user,
    kind: "recommendation",
    notes: (answer) => [
      answer.reason === "cold_start"
        ? "New user: showing the best-rated titles."
        : "Chosen for this user from the titles they rated highly, best first.",
      ...(answer.degraded ? [DEGRADED_NOTE] : []),
      ...(answer.items.length ? [] : ["No titles left to suggest on these platforms."]),
    ],
    onError: (error) => fail(error),
  });
  // Says which filter the cards on screen answer (the tests wait for it).
  if (shown) list.dataset.platforms = platforms.join(",");
}

const similarTicket = latest();

async function loadSimilar() {
  const title = state.title;
  const list = $("similar-list");
  const note = $("similar-note");
  const region = $("similar-error");
  $("similar-title").textContent = titleCase(title.title);
  $("similar-empty").hidden = true;
  const shown = await showCards({
    list,
    note,
    region,
    isCurrent: similarTicket(),
    path: `/titles/${encodeURIComponent(title.id)}/similar`,
    params: "n=10",
    kind: "similar",
    notes: (answer) => [
      answer.reason === "unknown_title"
        ? "This title arrived after the model was trained, so it cannot be compared yet."
        : "Alike in what they are: franchise, genres, cast, director and story; most alike first.",
      ...(answer.degraded ? [DEGRADED_NOTE] : []),
    ],
    onError: (error) => {
      list.replaceChildren();
      note.textContent = "";
      showError(region, error);
    },
  });
  if (shown) list.dataset.titleId = title.id;
}

// -- step 2: catalogue questions -----------------------------------------------------------

function showQueryFields() {
  const fields = QUERY_FIELDS[$("query-kind").value];
  for (const wrapper of document.querySelectorAll("#query-form [data-field]")) {
    wrapper.hidden = !fields.includes(wrapper.dataset.field);
  }
  // Only the longest-title question works across all platforms.
  const any = $("q-platform-any");
  const optional = $("query-kind").value === "get_max_duration";
  any.hidden = any.disabled = !optional;
  if (!optional && $("q-platform").value === "") $("q-platform").value = "netflix";
  $("q-year").placeholder = optional ? "Any year" : "e.g. 2019";
}

async function ask(event) {
  event.preventDefault();
  const kind = $("query-kind").value;
  const params = new URLSearchParams();
  for (const name of QUERY_FIELDS[kind]) {
    const value = $("query-form").elements[name].value.trim();
    if (value !== "") params.append(name, value);
  }
  const result = $("query-result");
  await busy($("query-button"), "Asking…", async () => {
    try {
      const answer = await api(`/${kind}`, params);
      showError($("query-error"), null);
      result.replaceChildren(el("p", "answer-summary", summary(kind, answer)), answerList(answer));
      result.dataset.query = kind;
    } catch (error) {
      result.replaceChildren();
      delete result.dataset.query;
      showError($("query-error"), error);
    }
  });
}

function duration(value, unit) {
  return unit === "min" ? `${value} min` : plural(value, "season");
}

function summary(kind, a) {
  const on = platformName(a.platform);
  switch (kind) {
    case "get_max_duration":
      return `The longest is ${titleCase(a.title)}: ${duration(a.duration_int, a.duration_type)}.`;
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
    rows.duration = duration(rows.duration_int, rows.duration_type);
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
  return definitions(
    Object.entries(rows).map(([key, value]) => [
      LABELS[key] || key.replace(/_/g, " "),
      show[key] ? show[key](value) : String(value),
    ]),
  );
}

// -- wiring --------------------------------------------------------------------------------

function start() {
  setupSignIn();
  setupSearch();
  $("predict-form").addEventListener("submit", predict);
  $("recs-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadRecommendations();
  });
  $("recs-form").addEventListener("change", loadRecommendations);
  $("user-id").addEventListener("change", loadRecommendations);
  $("query-kind").addEventListener("change", showQueryFields);
  $("query-form").addEventListener("submit", ask);
  showQueryFields();
  loadDataset();
  loadModel();
  loadRecommendations();
}

start();
