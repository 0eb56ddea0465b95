"""python -m services.gateway: serve on $HOST:$PORT with $WORKERS uvicorn workers."""

from common.serve import serve
from services.gateway.settings import get_settings

if __name__ == "__main__":
    serve("services.gateway.app:app", service="gateway", settings=get_settings())
