"""Static checks of the container set-up: docker/*.Dockerfile, docker-compose.yml, .env.example.

Nothing here needs a Docker engine. The compose file is validated against the Compose
Specification, and everything it and the Dockerfiles rely on is checked against the project
itself: the commands are real entry points that accept their flags, the environment variables
are settings the processes read, the COPYs exist and give each image code that imports with
only its own extra installed, and the ports and URLs agree with each other.
"""

import ast
import http.server
import importlib
import importlib.metadata
import importlib.util
import re
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.utils import canonicalize_name

from common.files import PROJECT_ROOT
from common.settings import is_placeholder
from tests.images import (
    DOCKERFILES,
    POSTGRES_IMAGE,
    POSTGRES_IMAGE_ENV,
    RUNTIME_ENV,
    Dockerfile,
    build_settings,
    dockerfile,
    dockerignore_rules,
    image_layout,
    installed_distributions,
    is_ignored,
    probe,
    project_extras,
    python_module,
    settings_fields,
    shell_commands,
)

ROOT = PROJECT_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"

BASE_IMAGE = "python:3.11-slim"
LOCK = "requirements.lock"
# Each image installs the extra of the same name, and nothing else of the project's extras.
IMAGES = {"loader", "recommender", "catalog", "gateway"}
# The settings class each compose service reads its environment with.
SETTINGS = {
    "roles": "loader.roles:RoleSettings",
    "loader": "common.settings:DatabaseSettings",
    "trainer": "services.recommender.settings:Settings",
    "report": "loader.report.settings:Settings",
    "catalog": "services.catalog.settings:Settings",
    "recommender": "services.recommender.settings:Settings",
    "gateway": "services.gateway.settings:Settings",
}
# One-shot jobs: their commands take flags; the services are configured by environment only.
JOBS = {"roles", "loader", "trainer", "report"}
# Modules each image serves besides its commands' own: the apps uvicorn imports by name.
APP_MODULES = {
    "loader": [],
    "recommender": ["services.recommender.app"],
    "catalog": ["services.catalog.app"],
    "gateway": ["services.gateway.app"],
}
# Files the code finds next to itself at run time rather than by importing them.
DATA_FILES = {
    "loader": [
        "migrations/env.py",
        "migrations/script.py.mako",
        "migrations/versions",
        "loader/report/template.html.j2",
    ],
    "recommender": [],
    "catalog": [],
    "gateway": ["services/gateway/static/index.html"],
}
EXPECTED_DEPENDS_ON = {
    "postgres": {},
    "roles": {"postgres": "service_healthy"},
    "loader": {"roles": "service_completed_successfully"},
    "trainer": {"loader": "service_completed_successfully"},
    "catalog": {"loader": "service_completed_successfully"},
    "recommender": {"trainer": "service_completed_successfully"},
    "report": {"trainer": "service_completed_successfully"},
    "gateway": {"catalog": "service_healthy", "recommender": "service_healthy"},
}
SECRET_KEY = re.compile(r"password|passwd|secret|token", re.IGNORECASE)


# --- Compose-style variable interpolation -------------------------------------------------------


class MissingVariable(Exception):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (and the colon-less
    forms) and `$$`, nested defaults included."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if j >= len(text):
                    raise ValueError(f"unclosed ${{ in {text!r}")
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            out.append(_substitute(text[i + 2 : j - 1], variables))
            i = j
        elif match := re.match(r"[A-Za-z_]\w*", text[i + 1 :]):
            out.append(variables.get(match[0], ""))
            i += 1 + match.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _substitute(expression: str, variables: Mapping[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_]\w*)(?:(:?[-?+])(.*))?", expression, re.DOTALL)
    if match is None:
        raise ValueError(f"not an interpolation: ${{{expression}}}")
    name, operator, argument = match.groups()
    value = variables.get(name)
    if operator is None:
        return value or ""
    missing = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return interpolate(argument, variables) if missing else value
    if operator.endswith("?"):
        if missing:
            raise MissingVariable(f"{name}: {argument}")
        return value
    return "" if missing else interpolate(argument, variables)


def interpolated_names(text: str) -> set[str]:
    """Every variable `text` interpolates, including those in defaults; `$$` is an escape."""
    names = set()
    for match in re.finditer(r"\$\$|\$\{([A-Za-z_]\w*)|\$([A-Za-z_]\w*)", text):
        names.update(name for name in match.groups() if name)
    return names


def interpolate_tree(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [interpolate_tree(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, variables) for key, value in node.items()}
    return node


def read_env_file(path: Path, *, filled_in: bool = False) -> dict[str, str]:
    """The variables of a Compose .env file, each value interpolated with those above it; with
    `filled_in`, each placeholder secret replaced, as an operator's .env would have it."""
    variables: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_]\w*", key), f"{path.name}: bad line {line!r}"
        if len(value) >= 2 and value[0] == value[-1] == "'":
            variables[key] = value[1:-1]
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if filled_in and is_placeholder(value):
            value = f"s3cret-{key.lower().replace('_', '-')}-0123456789abcdefghijklmnopqrstuv"
        variables[key] = interpolate(value, variables)
    return variables


# --- The compose file ---------------------------------------------------------------------------


def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_resolved(*, filled_in: bool = True) -> dict[str, Any]:
    """The compose file as `docker compose config` would see it with .env.example as .env, its
    secrets set (`filled_in`) or left as the placeholders."""
    return interpolate_tree(compose_raw(), read_env_file(ENV_EXAMPLE, filled_in=filled_in))


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    assert "env_file" not in service, "env_file hides variables from these checks; extend them"
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def built_services() -> dict[str, str]:
    """Each compose service built from a Dockerfile here, with the image it builds."""
    services = {}
    for name, service in compose_raw()["services"].items():
        build = service.get("build")
        if build is None:
            continue
        assert isinstance(build, dict), f"{name}: give build a context and a dockerfile"
        assert build.get("context") == ".", f"{name}: the build context must be the project root"
        dockerfile = (ROOT / build["dockerfile"]).resolve()
        image = next((i for i, path in DOCKERFILES.items() if path == dockerfile), None)
        assert image is not None, f"{name}: {build['dockerfile']} is not one of docker/*.Dockerfile"
        services[name] = image
    return services


def command_of(service_name: str) -> list[str]:
    """The argv a compose service runs: its command, else its image's CMD."""
    service = compose_raw()["services"][service_name]
    assert "entrypoint" not in service, f"{service_name}: an entrypoint hides the real command"
    command = service.get("command")
    if command is None:
        command = dockerfile(built_services()[service_name]).cmd
    assert isinstance(command, list), f"{service_name}: write the command as a list (exec form)"
    return command


def pip_installs(image: str) -> list[list[str]]:
    return [
        words[words.index("install") + 1 :]
        for run in dockerfile(image).all("RUN")
        for words in shell_commands(run.args)
        if "pip" in Path(words[0]).name and "install" in words
    ]


def constraint_files(arguments: list[str]) -> list[str]:
    files = []
    for i, word in enumerate(arguments):
        if word in ("-c", "--constraint") and i + 1 < len(arguments):
            files.append(arguments[i + 1])
        elif word.startswith("--constraint="):
            files.append(word.partition("=")[2])
        elif word.startswith("-c") and len(word) > 2:
            files.append(word[2:])
    return files


def settings_for(
    service_name: str, monkeypatch: pytest.MonkeyPatch, *, filled_in: bool = True
) -> Any:
    """The service's settings object as its container would build it: the image's ENV, then
    the compose environment resolved with .env.example (its secrets set, or not)."""
    fields = settings_fields(SETTINGS[service_name])
    image_env = dockerfile(built_services()[service_name]).env
    resolved = compose_resolved(filled_in=filled_in)
    environment = service_environment(resolved["services"][service_name])
    image_settings = {key: value for key, value in image_env.items() if key in fields}
    return build_settings(SETTINGS[service_name], [image_settings, environment], monkeypatch)


# === 1. The Compose Specification ==============================================================


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "check-jsonschema"
    assert executable.exists(), f"{executable} is missing: pip install -e '.[dev]'"
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_compose_file_follows_the_compose_specification() -> None:
    listed = check_jsonschema("--help")
    assert "vendor.compose-spec" in listed.stdout, "this check-jsonschema has no compose schema"
    result = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "version" not in compose_raw(), "the Compose Specification has no top-level version"


def test_schema_check_rejects_an_invalid_file(tmp_path: Path) -> None:
    # Proves the check above can fail: a misspelt service key must not pass.
    broken = compose_raw()
    broken["services"]["gateway"]["container-name"] = "gateway"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(path))
    assert result.returncode != 0, result.stdout


def test_services_start_in_order() -> None:
    services = compose_raw()["services"]
    depends_on = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services.items()
    }
    assert depends_on == EXPECTED_DEPENDS_ON
    for name in JOBS:
        assert services[name].get("restart") == "no", f"{name} is a one-shot job"
    for name, service in services.items():
        if name not in JOBS:
            assert "healthcheck" in service, f"{name}: others wait on its health"


def test_every_dockerfile_is_built_and_every_service_is_mapped() -> None:
    assert set(DOCKERFILES) == IMAGES
    assert set(built_services().values()) == IMAGES
    assert set(built_services()) == set(SETTINGS)
    services = compose_raw()["services"]
    assert services[POSTGRES_IMAGE]["image"].partition(":")[0] == POSTGRES_IMAGE
    assert set(services) == set(SETTINGS) | {POSTGRES_IMAGE}


def test_only_the_gateway_is_published_and_the_recommender_can_scale() -> None:
    services = compose_resolved()["services"]
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: a fixed name prevents --scale"
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert published == {"gateway": ["8000:8000"]}


def test_ports_urls_and_healthchecks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose_resolved()["services"]
    settings = {name: settings_for(name, monkeypatch) for name in SETTINGS}
    for name, service in services.items():
        if name == POSTGRES_IMAGE:
            continue
        test = service.get("healthcheck", {}).get("test")
        if name in JOBS:
            assert test is None, f"{name}: a job has nothing to check"
            continue
        # Listening on 127.0.0.1 would make the service unreachable from other containers.
        assert settings[name].host == "0.0.0.0", name
        assert test[:3] == ["CMD", "python", "/app/docker/healthcheck.py"], test
        url = urlsplit(test[3])
        assert (url.hostname, url.port, url.path) == (
            "127.0.0.1",
            settings[name].port,
            "/health/ready",
        ), f"{name}: the healthcheck must ask the port the service listens on"
    gateway = settings["gateway"]
    for downstream, url in (
        ("catalog", gateway.catalog_url),
        ("recommender", gateway.recommender_url),
    ):
        # The service name, not a container's: compose DNS spreads it over every replica.
        assert urlsplit(url).hostname == downstream, url
        assert urlsplit(url).port == settings[downstream].port, url
    assert services["gateway"]["ports"][0].rpartition(":")[2] == str(gateway.port)


def test_volumes_hold_the_data_the_processes_use(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = compose_raw()
    services = compose_resolved()["services"]
    assert set(raw["volumes"]) == {"pgdata", "models", "report"}
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert raw["services"]["loader"]["volumes"] == ["${DATA_DIR:-./data}:/data:ro"]
    model_dir = {
        name: str(settings_for(name, monkeypatch).model_dir) for name in ("trainer", "recommender")
    }
    # The trainer writes the model files; the recommender replicas only read them.
    assert services["trainer"]["volumes"] == [f"models:{model_dir['trainer']}"]
    assert services["recommender"]["volumes"] == [f"models:{model_dir['recommender']}:ro"]
    # The report job reads the model's metrics and writes the report the gateway serves.
    report = settings_for("report", monkeypatch)
    gateway = settings_for("gateway", monkeypatch)
    assert services["report"]["volumes"] == [
        f"models:{report.model_dir}:ro",
        f"report:{report.report_dir}",
    ]
    assert services["gateway"]["volumes"] == [f"report:{gateway.report_dir}:ro"]


# === 2. Commands are real entry points ==========================================================


def all_commands() -> list[tuple[str, str, list[str]]]:
    """(where, image, argv) for every compose service's command and every Dockerfile's CMD."""
    commands = [
        (f"service {name}", image, command_of(name)) for name, image in built_services().items()
    ]
    commands += [
        (f"{DOCKERFILES[image].name} CMD", image, dockerfile(image).cmd) for image in IMAGES
    ]
    for image in IMAGES:
        assert not dockerfile(image).all("ENTRYPOINT"), f"{image}: an ENTRYPOINT hides the command"
    return commands


def job_modules() -> set[str]:
    return {python_module(command_of(name))[0] for name in JOBS}


@pytest.mark.parametrize(
    ("where", "image", "argv"), [pytest.param(*c, id=c[0]) for c in all_commands()]
)
def test_command_is_a_runnable_module(where: str, image: str, argv: list[str]) -> None:
    module, arguments = python_module(argv)
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{where}: no module {module}"
    if spec.submodule_search_locations is not None:
        assert importlib.util.find_spec(f"{module}.__main__"), f"{where}: {module} has no __main__"
    if module not in job_modules():
        assert not arguments, f"{where}: the services take their settings from the environment"


@pytest.mark.parametrize("name", sorted(JOBS))
def test_job_arguments_are_accepted(name: str, tmp_path: Path) -> None:
    argv = command_of(name)
    module, arguments = python_module(argv)
    result = probe(built_services()[name], tmp_path, imports=[], run=[module, *arguments])
    assert result.returncode == 0 and "ARGUMENTS ACCEPTED" in result.stdout, result.stderr
    # Paths handed to the job must be inside something mounted into its container.
    targets = [
        PurePosixPath(volume.split(":")[1])
        for volume in compose_resolved()["services"][name].get("volumes", [])
    ]
    for argument in arguments:
        if argument.startswith("/"):
            assert any(PurePosixPath(argument).is_relative_to(t) for t in targets), argument


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_code_imports_with_only_its_extra(image: str, tmp_path: Path) -> None:
    commands = [argv for _, img, argv in all_commands() if img == image]
    modules = sorted({python_module(argv)[0] for argv in commands} | set(APP_MODULES[image]))
    imports = [
        f"{module}.__main__"
        if importlib.util.find_spec(module).submodule_search_locations
        else module
        for module in modules
    ]
    result = probe(image, tmp_path, imports=imports)
    assert result.returncode == 0 and "IMPORTS OK" in result.stdout, result.stderr
    app = image_layout(image, tmp_path / "again")
    for relative in DATA_FILES[image]:
        assert (app / relative).exists(), f"{image}: {relative} is not copied into the image"


# === 3. Environment variables are settings the processes read ==================================


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_service_environment_is_read_by_its_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = settings_fields(SETTINGS[name])
    environment = service_environment(compose_raw()["services"][name])
    assert set(environment) <= fields, f"{name}: not settings: {set(environment) - fields}"
    image_env = set(dockerfile(built_services()[name]).env) - RUNTIME_ENV
    assert image_env <= fields, f"{name}: image ENV not settings: {image_env - fields}"
    # And the values validate, the way the container will build its settings.
    settings_for(name, monkeypatch)


def test_postgres_environment_is_the_images_own() -> None:
    environment = service_environment(compose_raw()["services"][POSTGRES_IMAGE])
    assert set(environment) <= POSTGRES_IMAGE_ENV


def test_database_urls_from_env_example_reach_the_postgres_service() -> None:
    from common.db import sqlalchemy_url

    services = compose_resolved()["services"]
    database = service_environment(services[POSTGRES_IMAGE])["POSTGRES_DB"]
    for name in SETTINGS:
        url = service_environment(services[name]).get("DATABASE_URL")
        if name == "gateway":
            assert url is None, "the gateway holds no data of its own"
            continue
        parsed = sqlalchemy_url(url)
        assert (parsed.host, parsed.port, parsed.database) == (POSTGRES_IMAGE, 5432, database), name


# === 4. Dockerfiles ============================================================================


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_base_user_and_install(image: str) -> None:
    file = dockerfile(image)
    # Every stage, the final one included, is the base image or a stage built on it.
    stage_bases: dict[str, str] = {}
    for instruction in file.all("FROM"):
        words = instruction.args.split()
        base = stage_bases.get(words[0], words[0])
        assert base == BASE_IMAGE, f"{image}:{instruction.line}: FROM {words[0]}"
        if len(words) == 3 and words[1].upper() == "AS":
            stage_bases[words[2]] = base

    env = file.env
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1" and env.get("PYTHONUNBUFFERED") == "1"
    assert file.workdir == PurePosixPath("/app")

    keywords = [i.keyword for i in file.instructions]
    users = file.all("USER")
    assert users, f"{image}: runs as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), f"{image}: runs as root"
    assert keywords.index("CMD") > max(i for i, k in enumerate(keywords) if k == "USER")
    created = [
        words
        for run in file.all("RUN")
        for words in shell_commands(run.args)
        if words[0] == "useradd" and words[-1] == user
    ]
    assert created, f"{image}: USER {user} is never created with useradd"
    uid = created[0][created[0].index("--uid") + 1]
    assert int(uid) >= 1000, f"{image}: give {user} an unprivileged UID"

    installs = pip_installs(image)
    assert installs, f"{image}: installs nothing"
    copied = {s for _, sources, _, _ in file.copies() for s in sources}
    specs = []
    for arguments in installs:
        assert LOCK in constraint_files(arguments), f"{image}: pip install without -c {LOCK}"
        assert "-r" not in arguments and "--requirement" not in arguments, (
            f"{image}: -r {LOCK} would install every extra; use it as constraints"
        )
        specs += [a for a in arguments if re.fullmatch(r"\.(\[[\w,-]+\])?", a)]
    assert specs == [f".[{image}]"], f"{image}: install the {image} extra, and only it"
    assert LOCK in copied and "pyproject.toml" in copied, f"{image}: copy the lock and metadata"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_everything_the_image_installs_is_pinned_by_the_lock(image: str) -> None:
    # A constraints file leaves a package it does not name free to float to its newest version.
    lines = (ROOT / LOCK).read_text().splitlines()
    pinned = {canonicalize_name(line.partition("==")[0]) for line in lines if "==" in line}
    project = canonicalize_name(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    )
    unpinned = installed_distributions(image) - pinned - {project}
    assert not unpinned, f"{image}: not in {LOCK}: {sorted(unpinned)} (run make lock)"


def test_gateway_installs_no_database_or_model_code() -> None:
    assert project_extras("gateway") == {"gateway", "web"}, "the gateway pulls another extra"
    assert not {"db", "recommender"} & project_extras("gateway")
    installed = installed_distributions("gateway")
    for heavy in ("sqlalchemy", "psycopg", "numpy", "scikit-surprise", "pyarrow"):
        assert heavy not in installed, f"the gateway image would install {heavy}"


def test_the_gateway_image_copies_nothing_from_the_other_services() -> None:
    for instruction, sources, _, _ in dockerfile("gateway").copies():
        for source in sources:
            assert not source.startswith(("services/catalog", "services/recommender")), (
                f"gateway:{instruction.line}: {source}; shared contracts live in contracts/"
            )


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_copy_sources_exist_and_reach_the_build_context(image: str) -> None:
    rules = dockerignore_rules()
    for instruction, sources, _, _ in dockerfile(image).copies():
        assert instruction.keyword == "COPY", f"{image}:{instruction.line}: ADD fetches; use COPY"
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"{image}:{instruction.line}: {source} does not exist"
            assert path.resolve().is_relative_to(ROOT), source
            relative = path.resolve().relative_to(ROOT).as_posix()
            assert not is_ignored(relative, rules), f"{image}: .dockerignore drops {source}"


def test_dockerignore_keeps_local_state_out() -> None:
    rules = dockerignore_rules()
    for path in (
        ".venv/bin/python",
        ".data/pg/PG_VERSION",
        ".git/HEAD",
        "tests/test_compose.py",
        "bench/wrk.py",
        "services/catalog/__pycache__/app.cpython-311.pyc",
        "test-artifacts/report.txt",
        "streamrec.egg-info/PKG-INFO",
        ".env",
    ):
        assert is_ignored(path, rules), f".dockerignore lets {path} into the build context"
    for path in ("README.md", "pyproject.toml", LOCK, "docker/healthcheck.py"):
        assert not is_ignored(path, rules), f".dockerignore drops {path}, which a build needs"


def prepared_for(file: Dockerfile, user: str, folder: str) -> bool:
    """Whether a RUN creates `folder` owned by `user` (install -d -o, or chown)."""
    runs = " ".join(run.args for run in file.all("RUN"))
    owned = rf"(install\s[^;&|]*-o\s+{user}\b[^;&|]*\s{folder}\b)|"
    owned += rf"(chown\s[^;&|]*\b{user}\b[^;&|]*\s{folder}\b)"
    return re.search(owned, runs) is not None


def test_writable_folders_are_prepared_for_the_image_user() -> None:
    # An empty named volume starts as a copy of the image's folder, owner included; without
    # one owned by the image's user, the volume belongs to root and a non-root job cannot write.
    raw = compose_raw()
    for name, image in built_services().items():
        file = dockerfile(image)
        user = file.all("USER")[-1].args.split(":")[0]
        for volume in raw["services"][name].get("volumes", []):
            source, target, *mode = volume.split(":")
            if source in raw["volumes"] and "ro" not in mode:
                assert prepared_for(file, user, target), f"{image}: create {target} for {user}"
    # The image's own default folders too, so that it also works outside compose.
    for image in IMAGES:
        file = dockerfile(image)
        user = file.all("USER")[-1].args.split(":")[0]
        for key, value in file.env.items():
            if key.endswith("_DIR"):
                assert prepared_for(file, user, value), f"{image}: {key}={value} is not {user}'s"


# === 5. Secrets and .env.example ================================================================


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
            yield f"{path}.{key}", value
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def test_compose_file_holds_no_secrets() -> None:
    whole_interpolation = re.compile(r"\$\{[A-Za-z_]\w*(:?[-?][^}]*)?\}")
    for path, value in walk(compose_raw()):
        key = path.rpartition(".")[2]
        if SECRET_KEY.search(key) and not isinstance(value, (dict, list)):
            assert whole_interpolation.fullmatch(str(value)), f"{path}: a literal secret"
        if isinstance(value, str):
            for userinfo in re.findall(r"://([^/@\s]+)@", value):
                password = userinfo.partition(":")[2]
                assert not password or password.startswith("${"), f"{path}: password in a URL"
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in {line.strip() for line in gitignore}, ".env must stay out of git"


def test_env_example_defines_and_documents_every_variable() -> None:
    used = interpolated_names(COMPOSE_FILE.read_text())
    lines = ENV_EXAMPLE.read_text().splitlines()
    defined: list[str] = []
    paragraph_has_comment = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            paragraph_has_comment = False
        elif stripped.startswith("#"):
            paragraph_has_comment = True
        else:
            key, _, value = stripped.partition("=")
            assert paragraph_has_comment, f".env.example: no comment explains {key}"
            assert "#" not in value, f".env.example: '#' in {key} would start a comment"
            defined.append(key)
    assert len(defined) == len(set(defined)), ".env.example defines a variable twice"
    assert used <= set(defined), f".env.example lacks {sorted(used - set(defined))}"
    referenced = used | interpolated_names(ENV_EXAMPLE.read_text())
    assert set(defined) <= referenced, f"unused in .env.example: {set(defined) - referenced}"
    # With .env.example as .env, every required variable is set.
    compose_resolved()


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_placeholder_secrets_of_env_example_are_refused_at_start(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cp .env.example .env` without changing a secret: every process refuses to start."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"placeholder from an example file"):
        settings_for(name, monkeypatch, filled_in=False)


def test_missing_env_stops_compose_with_a_message() -> None:
    # The passwords and URLs have no default: without them compose must stop, not run empty.
    variables = read_env_file(ENV_EXAMPLE)
    required = set(re.findall(r"\$\{([A-Za-z_]\w*):?\?", COMPOSE_FILE.read_text()))
    assert {"POSTGRES_PASSWORD", "LOADER_DATABASE_URL"} <= required
    for name in required:
        without = {key: value for key, value in variables.items() if key != name}
        with pytest.raises(MissingVariable, match=rf"^{name}:"):
            interpolate_tree(compose_raw(), without)


# === docker/healthcheck.py ======================================================================


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/ready": 200, "/down": 503, "/empty": 204}.get(self.path, 404)
        self.send_response(status)
        self.end_headers()
        if status != 204:
            self.wfile.write(b'{"status": "x"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_healthcheck(*args: str) -> int:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK_SCRIPT), *args], capture_output=True, timeout=30
    ).returncode


def test_healthcheck_exits_0_only_on_200(health_server: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/ready"
    assert run_healthcheck(f"{health_server}/ready") == 0
    assert run_healthcheck(f"{health_server}/down") == 1
    assert run_healthcheck(f"{health_server}/empty") == 1
    assert run_healthcheck(f"{health_server}/missing") == 1
    assert run_healthcheck(refused) == 1
    assert run_healthcheck() == 1
    assert run_healthcheck("not a url") == 1


def test_healthcheck_needs_only_the_standard_library() -> None:
    tree = ast.parse(HEALTHCHECK_SCRIPT.read_text())
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert {m.partition(".")[0] for m in modules} <= sys.stdlib_module_names
