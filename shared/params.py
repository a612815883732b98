"""Types for dates and times in query strings: ISO 8601 text only.

Pydantic's lax mode also reads a number as a Unix timestamp, so ``?to=0.0`` would quietly mean
1970-01-01 — a query the OpenAPI document calls invalid, and a 4xx is the honest answer.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ].+")


def _iso(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"{what} in ISO 8601, e.g. 2027-01-31{'T08:00:00Z' if what == 'a time' else ''}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[dt.date, _iso(_DATE, "a date")]
IsoDateTime = Annotated[dt.datetime, _iso(_DATETIME, "a time")]
