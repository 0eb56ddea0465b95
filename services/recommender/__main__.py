"""python -m services.recommender: serve on $HOST:$PORT with $WORKERS uvicorn workers."""

from common.serve import serve
from services.recommender.settings import get_settings

if __name__ == "__main__":
    serve("services.recommender.app:app", service="recommender", settings=get_settings())
