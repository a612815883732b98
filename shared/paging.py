"""Keyset (cursor) paging over (timestamp, id), newest first: stable under concurrent inserts,
unlike offsets. The cursor is opaque to clients: base64url of the last row's [timestamp, id]."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from shared.problems import BadRequest


def encode_cursor(moment: dt.datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([moment.isoformat(), row_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The position a cursor names; 400 (pointing at ``cursor``) for one this API never gave."""
    try:
        moment_text, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = dt.datetime.fromisoformat(moment_text)
    except (ValueError, TypeError) as exc:
        raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor") from exc
    if moment.tzinfo is None or not isinstance(row_id, str):
        raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor")
    return moment, row_id


def after_cursor(
    statement: Select[Any], cursor: str | None, moment: InstrumentedAttribute[Any], row_id: InstrumentedAttribute[Any]
) -> Select[Any]:
    """Rows older than the cursor's position, in (moment desc, id desc) order."""
    if not cursor:
        return statement
    at, last_id = decode_cursor(cursor)
    return statement.where((moment < at) | ((moment == at) & (row_id < last_id)))
