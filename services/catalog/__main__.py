"""python -m services.catalog: serve the catalog on $HOST:$PORT (default 127.0.0.1:8001)."""

from common.serve import serve
from services.catalog.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve(
        "services.catalog.app:app", host=settings.host, port=settings.port, workers=settings.workers
    )
