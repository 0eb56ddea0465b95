"""Run a service's ASGI app with uvicorn, from its settings."""

import logging
import os
import tempfile

import uvicorn

from common.observability import logging_config, serve_metrics
from common.settings import ServiceSettings

log = logging.getLogger(__name__)


def serve(app_path: str, *, service: str, settings: ServiceSettings) -> None:
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: their metrics are summed from files in this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"{service}-metrics-")
    if settings.metrics_port is not None:
        # In this process: uvicorn's supervisor with several workers, else the server itself.
        serve_metrics(settings.metrics_host, settings.metrics_port)
    uvicorn.run(
        app_path,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=logging_config(service, settings.log_level),
        # httptools with header size, header count and header time limits (common/edge.py).
        http="common.edge:EdgeProtocol",
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.timeout_keep_alive_s,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # No "server: uvicorn" header: it tells an attacker what to try.
        server_header=False,
        timeout_graceful_shutdown=10,
    )
