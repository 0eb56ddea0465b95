"""python -m services.catalog: serve on $HOST:$PORT with $WORKERS uvicorn workers."""

from common.serve import serve
from services.catalog.settings import get_settings

if __name__ == "__main__":
    serve("services.catalog.app:app", service="catalog", settings=get_settings())
