"""The images as docker/*.Dockerfile build them, read without a Docker engine: shared by the
compose and the Kubernetes checks (tests/test_compose.py, tests/test_k8s.py).

Parses the Dockerfiles, applies .dockerignore, lays an image's COPYs out as a folder and runs a
module there with only that image's distributions importable (`probe`), and builds a process's
settings object from the environment a container would give it.
"""

import importlib
import importlib.abc
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from common.files import PROJECT_ROOT

ROOT = PROJECT_ROOT
DOCKERIGNORE = ROOT / ".dockerignore"
DOCKERFILES = {
    path.name.removesuffix(".Dockerfile"): path for path in ROOT.glob("docker/*.Dockerfile")
}
PROJECT_PACKAGES = {"common", "loader", "migrations", "services", "launcher"}
# The official PostgreSQL image (docker-compose.yml, deploy/k8s/postgres) and its documented
# variables (https://hub.docker.com/_/postgres).
POSTGRES_IMAGE = "postgres"
POSTGRES_IMAGE_ENV = {
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "POSTGRES_INITDB_ARGS",
    "POSTGRES_INITDB_WALDIR",
    "POSTGRES_HOST_AUTH_METHOD",
    "PGDATA",
}
# Dockerfile ENV that tunes Python or a library rather than the project's settings.
RUNTIME_ENV = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "SURPRISE_DATA_FOLDER"}


def python_module(argv: list[str]) -> tuple[str, list[str]]:
    assert argv[:2] == ["python", "-m"] and len(argv) >= 3, f"not `python -m MODULE`: {argv}"
    return argv[2], argv[3:]


# --- Dockerfiles --------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Dockerfile:
    path: Path
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    @property
    def cmd(self) -> list[str]:
        commands = self.all("CMD")
        assert commands, f"{self.path.name}: no CMD"
        assert commands[-1].args.startswith("["), f"{self.path.name}: CMD must be exec form"
        return json.loads(commands[-1].args)

    @property
    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            words = shlex.split(instruction.args)
            if "=" not in words[0]:  # the legacy `ENV KEY value` form
                values[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                key, _, value = word.partition("=")
                values[key] = value
        return values

    @property
    def workdir(self) -> PurePosixPath:
        workdirs = self.all("WORKDIR")
        return PurePosixPath(workdirs[-1].args) if workdirs else PurePosixPath("/")

    def copies(self) -> Iterator[tuple[Instruction, list[str], str, PurePosixPath]]:
        """(instruction, sources, destination, WORKDIR at that point) for each COPY/ADD."""
        workdir = PurePosixPath("/")
        for instruction in self.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = workdir / instruction.args
            elif instruction.keyword in ("COPY", "ADD"):
                if instruction.args.startswith("["):
                    words = json.loads(instruction.args)
                else:
                    words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
                assert not any(w.startswith("--from") for w in shlex.split(instruction.args)), (
                    f"{self.path.name}:{instruction.line}: extend this test for COPY --from"
                )
                yield instruction, words[:-1], words[-1], workdir


def parse_dockerfile(path: Path) -> Dockerfile:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        # Docker drops comment lines, even inside a continued instruction.
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        keyword, _, args = " ".join(pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, f"{path.name}: the last instruction ends with a line continuation"
    return Dockerfile(path, instructions)


def dockerfile(image: str) -> Dockerfile:
    return parse_dockerfile(DOCKERFILES[image])


def shell_commands(run: str) -> Iterator[list[str]]:
    """The simple commands of a RUN line, split on && || ; and |."""
    for part in re.split(r"&&|\|\||;|\|", run):
        words = shlex.split(part)
        if words:
            yield words


# --- .dockerignore ------------------------------------------------------------------------------


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    # Docker's matching: Go's filepath.Match per path, where `*` stays within one segment and
    # `**` spans any number of them.
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 1)) > 0:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body[:1] in "!^" and body else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((negated, _ignore_regex(pattern)))
    return rules


def is_ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether .dockerignore keeps `relative` (or a folder above it) out of the context."""
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


# --- Images rebuilt as folders, to import their code --------------------------------------------


def image_layout(image: str, root: Path) -> Path:
    """Lay out the image's COPYs under `root` (its `/`), the way the build context would
    supply them; return the final WORKDIR, where `python -m` finds the code."""
    rules = dockerignore_rules()
    for _, sources, destination, workdir in dockerfile(image).copies():
        target = root / (workdir / destination).relative_to("/")
        into_folder = destination.endswith("/") or len(sources) > 1
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                for file in sorted(path.rglob("*")):
                    relative = file.relative_to(ROOT).as_posix()
                    if file.is_file() and not is_ignored(relative, rules):
                        copy = target / file.relative_to(path)
                        copy.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(file, copy)
            else:
                copy = target / path.name if into_folder else target
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
    return root / dockerfile(image).workdir.relative_to("/")


def project_extras(extra: str) -> set[str]:
    """The project's extras an install of `.[extra]` pulls in, through `streamrec[...]`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = canonicalize_name(project["name"])
    found, todo = set(), [extra]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        for spec in project["optional-dependencies"][current]:
            requirement = Requirement(spec)
            if canonicalize_name(requirement.name) == name:
                todo.extend(requirement.extras)
    return found


def installed_distributions(extra: str) -> set[str]:
    """The distributions `pip install .[extra]` installs, from the metadata of the ones the
    development venv holds (the same versions, pinned by the lock)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = canonicalize_name(project["name"])
    todo = [Requirement(spec) for spec in project["dependencies"]]
    for current in project_extras(extra):
        todo.extend(Requirement(spec) for spec in project["optional-dependencies"][current])
    found: set[str] = {name}
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement = todo.pop()
        dist = canonicalize_name(requirement.name)
        if dist == name or (dist, frozenset(requirement.extras)) in seen:
            continue
        seen.add((dist, frozenset(requirement.extras)))
        found.add(dist)
        try:
            requires = importlib.metadata.distribution(dist).requires or []
        except importlib.metadata.PackageNotFoundError:
            # Absent from this venv too (uvicorn's optional speed-ups, say): nothing here can
            # import it, so its own requirements cannot matter to the probe.
            continue
        for spec in requires:
            nested = Requirement(spec)
            extras = {""} | set(requirement.extras)
            if nested.marker is None or any(nested.marker.evaluate({"extra": e}) for e in extras):
                todo.append(nested)
    return found


def modules_not_in(distributions: set[str]) -> set[str]:
    """Top-level modules of the venv's other distributions: absent from the image."""
    absent = set()
    for module, owners in importlib.metadata.packages_distributions().items():
        if module in PROJECT_PACKAGES or module in sys.stdlib_module_names:
            continue
        if not any(canonicalize_name(owner) in distributions for owner in owners):
            absent.add(module)
    return absent


# Runs inside the rebuilt image folder: only its code, and no module of a distribution the
# image does not install. A job's command runs until its arguments are parsed, then exits.
PROBE = r"""
import argparse, importlib, importlib.abc, json, os, runpy, sys

spec = json.loads(sys.argv[1])
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
sys.path[:] = [spec["app"]] + [p for p in sys.path[1:] if p and os.path.realpath(p) != spec["repo"]]
absent = set(spec["absent"])


class NotInImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r} in this image", name=name)
        return None


sys.meta_path.insert(0, NotInImage())


def check_origins():
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.partition(".")[0] in spec["project"] and file:
            assert os.path.realpath(file).startswith(spec["app"] + os.sep), (name, file)


for name in spec["imports"]:
    importlib.import_module(name)
check_origins()
if spec["run"]:
    parse_args = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        parse_args(self, args, namespace)
        check_origins()
        print("ARGUMENTS ACCEPTED", flush=True)
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = parse_only
    sys.argv = spec["run"]
    runpy.run_module(spec["run"][0], run_name="__main__", alter_sys=True)
    sys.exit("the module returned without parsing its arguments")
print("IMPORTS OK", flush=True)
"""


def probe(
    image: str, tmp_path: Path, *, imports: list[str], run: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    app = image_layout(image, tmp_path / "image")
    spec = {
        "app": os.path.realpath(app),
        "repo": os.path.realpath(ROOT),
        "project": sorted(PROJECT_PACKAGES),
        "absent": sorted(modules_not_in(installed_distributions(image))),
        "imports": imports,
        "run": run,
    }
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # Nothing may reach a real database or write outside tmp_path (scikit-surprise creates its
    # data folder on import).
    env |= {
        "DATABASE_URL": "postgresql://probe@127.0.0.1:9/probe",
        "HOME": str(tmp_path / "home"),
        "SURPRISE_DATA_FOLDER": str(tmp_path / "surprise"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(spec)],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- Settings -----------------------------------------------------------------------------------


def settings_class(path: str) -> type:
    """`module:Class`, imported."""
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def settings_fields(path: str) -> set[str]:
    """The environment variables a settings class reads."""
    return {field.upper() for field in settings_class(path).model_fields}


def build_settings(
    path: str, layers: list[Mapping[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The settings object a process builds from an environment of `layers`, later ones winning
    (an image's ENV, then the container's own), and nothing else of this process's."""
    cls = settings_class(path)
    for field in cls.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
        monkeypatch.delenv(field, raising=False)
    for layer in layers:
        for key, value in layer.items():
            monkeypatch.setenv(key, value)
    return cls()
