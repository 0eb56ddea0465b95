"""Run a service's ASGI app with uvicorn, from its settings."""

import uvicorn


def serve(app_path: str, *, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        app_path,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # Bounded keep-alive and a clean shutdown on Ctrl-C / SIGTERM.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
