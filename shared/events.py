"""Wire shape of an event travelling from one service's outbox to another's inbox."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class EventEnvelope(BaseModel):
    """What travels from one service's outbox to another's inbox."""

    id: uuid.UUID
    type: str = Field(min_length=1, max_length=200, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    source: str = Field(min_length=1, max_length=64)
    tenant_id: str | None = Field(default=None, max_length=64)
    occurred_at: dt.datetime
    payload: dict[str, Any]


class InboxReceipt(BaseModel):
    event_id: uuid.UUID
    status: Literal["processed", "duplicate"]
