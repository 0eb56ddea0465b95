"""FastAPI dependencies of the services that use the database (not the gateway)."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine


async def engine(request: Request) -> Engine:
    # async, so FastAPI does not spend a thread hop on it; routes are sync and run in the pool.
    return request.app.state.engine


Db = Annotated[Engine, Depends(engine)]
