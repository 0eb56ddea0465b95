"""Measure each service's resident memory and CPU, idle and under the load test's mix, with a
model swap in the middle: the figures behind the Kubernetes requests and limits.

    python -m bench.resources [--database-url URL --model-dir DIR] [--seconds 30]
                              [--connections 32]

Each service runs with its default worker count, as in the manifests. Memory is the resident
set of the service's whole process tree (uvicorn's parent and workers), sampled every 0.2 s;
CPU is the tree's user and system time over the phase, in cores. Halfway through the load the
recommender is handed a new `current` model (a copy of the served one), so its peak includes
the moment it holds two models. Needs wrk (Debian's package), like bench.load_test.
"""

import json
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from bench.data import arguments, prepared
from bench.load_test import mix
from bench.wrk import lua_script, wrk
from common.proc import Service, Stack
from services.recommender.model import CURRENT, current_version, load

SAMPLE_S = 0.2
IDLE_S = 10


@dataclass
class Usage:
    """What one service's process tree used during one phase."""

    peak_rss: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_cores: float = 0.0
    _last: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def cores(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


def tree(service: Service) -> list[psutil.Process]:
    parent = psutil.Process(service.process.pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def watch(services: list[Service], seconds: float, during=None) -> dict[str, Usage]:
    """Sample every service for `seconds` while `during` (if any) runs in a thread."""
    usage = {s.name: Usage() for s in services}
    processes = {s.name: tree(s) for s in services}
    start_cpu = {name: cpu_seconds(p) for name, p in processes.items()}
    worker = threading.Thread(target=during, daemon=True) if during else None
    started = time.monotonic()
    if worker:
        worker.start()
    while time.monotonic() - started < seconds or (worker and worker.is_alive()):
        now = time.monotonic()
        for name, procs in processes.items():
            used = cpu_seconds(procs)
            entry = usage[name]
            entry.peak_rss = max(entry.peak_rss, rss(procs))
            if entry._last is not None and now - entry._last[0] >= 1.0:
                entry.peak_cores = max(
                    entry.peak_cores, (used - entry._last[1]) / (now - entry._last[0])
                )
                entry._last = (now, used)
            elif entry._last is None:
                entry._last = (now, used)
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - started
    for name, procs in processes.items():
        usage[name].cpu_s = cpu_seconds(procs) - start_cpu[name]
        usage[name].wall_s = wall
    return usage


def swap_model(model_dir: Path) -> str:
    """Point `current` at a copy of the served version, the way the trainer switches it."""
    served = current_version(model_dir)
    copy = f"{served}-swap"
    shutil.copytree(model_dir / served, model_dir / copy)
    link = model_dir / f".{CURRENT}.tmp"
    link.symlink_to(copy)
    link.replace(model_dir / CURRENT)
    return copy


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], seconds=30)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with prepared(args) as (url, source_models, scratch):
        # A private copy: the swap must not touch the caller's model folder.
        model_dir = scratch / "models"
        version = current_version(source_models)
        shutil.copytree(source_models / version, model_dir / version)
        (model_dir / CURRENT).symlink_to(version)
        script = lua_script(scratch, "mix", mix(load(model_dir), np.random.default_rng(0)))
        quiet = {"LOG_LEVEL": "WARNING"}
        env = {name: quiet for name in ("catalog", "recommender", "gateway")}
        stack = Stack(url, model_dir, scratch / "logs", env=env).start()
        try:
            idle = watch(stack.services, IDLE_S)
            result = {}

            def load_with_swap() -> None:
                timer = threading.Timer(
                    args.seconds / 2, lambda: result.update(new=swap_model(model_dir))
                )
                timer.start()
                result["wrk"] = wrk(
                    stack.url,
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=2,
                    script=script,
                )
                timer.join()

            busy = watch(stack.services, args.seconds, during=load_with_swap)
            with urllib.request.urlopen(f"{stack.recommender.url}/model", timeout=5) as answer:
                served = json.load(answer)["version"]
        finally:
            stack.stop()
    outcome = result["wrk"]
    print(
        f"load: {outcome.requests_per_s:.1f} req/s, p50 {outcome.p50_ms:.1f} ms, "
        f"p99 {outcome.p99_ms:.1f} ms, errors {outcome.errors} ({args.seconds} s, "
        f"{args.connections} connections); model swapped to {result['new']}, served: {served}"
    )
    print(
        f"{'service':12} {'idle MiB':>9} {'idle cores':>11} {'load MiB (peak)':>16} "
        f"{'load cores (mean)':>18} {'load cores (peak 1 s)':>22}"
    )
    for name in idle:
        print(
            f"{name:12} {idle[name].peak_rss / 2**20:9.0f} {idle[name].cores:11.3f} "
            f"{busy[name].peak_rss / 2**20:16.0f} {busy[name].cores:18.2f} "
            f"{busy[name].peak_cores:22.2f}"
        )


if __name__ == "__main__":
    main()
