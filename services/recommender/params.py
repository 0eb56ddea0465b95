"""The recommender's parameters, declared once: the recommender and the gateway both take them.
FastAPI and pydantic only, so the gateway can import it without NumPy or the database."""

from typing import Annotated

from fastapi import Path, Query

from common.platforms import TITLE_ID_PATTERN, Platform
from common.web import ErrorBody
from services.recommender.schemas import MAX_USER_ID

UserQ = Annotated[int, Query(ge=1, le=MAX_USER_ID, description="the user's id", examples=[1])]
UserPath = Annotated[int, Path(ge=1, le=MAX_USER_ID, description="the user's id", examples=[1])]
TitleQ = Annotated[
    str,
    Query(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns2186"]),
]
TitlePath = Annotated[
    str,
    Path(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns2186"]),
]
CountQ = Annotated[int, Query(ge=1, le=100, description="how many titles", examples=[10])]
PlatformsQ = Annotated[
    list[Platform] | None,
    Query(
        description="only these platforms; repeat it for several", examples=[["netflix", "hulu"]]
    ),
]
ExcludeSeenQ = Annotated[
    bool, Query(description="leave out titles the user already rated", examples=[True])
]
NOT_FOUND = {404: {"model": ErrorBody, "description": "no title has this id"}}
NO_MODEL = {503: {"model": ErrorBody, "description": "no model is loaded yet"}}
