"""Run a service's ASGI app with uvicorn, from its settings."""

import os
import tempfile

import uvicorn

from common.observability import logging_config
from common.settings import ServiceSettings


def serve(app_path: str, *, service: str, settings: ServiceSettings) -> None:
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: their metrics are summed from files in this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"{service}-metrics-")
    uvicorn.run(
        app_path,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=logging_config(service, settings.log_level),
        # Bounded keep-alive and a clean shutdown on Ctrl-C / SIGTERM.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
