"""Wire shape of an event travelling from one service's outbox to another's inbox, and the base
of every event type's payload.

Each event type is declared once, as an :class:`EventPayload` subclass in the sending service's
``schemas.py`` naming its ``event_type``; the sender enqueues an instance of it and the
receiver registers a handler for that class (:func:`handle`), so the type string and the shape
of its payload cannot drift apart between the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from shared.problems import FieldError, UnprocessableContent

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


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


class EventPayload(BaseModel):
    """The payload of one event type; a subclass declares the type's name once."""

    event_type: ClassVar[str]


PayloadT = TypeVar("PayloadT", bound=EventPayload)
EventHandler = Callable[["AsyncSession", EventEnvelope], Awaitable[None]]


def handle(
    kind: type[PayloadT], handler: Callable[[AsyncSession, PayloadT, EventEnvelope], Awaitable[None]]
) -> tuple[str, EventHandler]:
    """``(event type, inbox handler)`` for a service's ``EVENT_HANDLERS``: the envelope's payload
    is validated as ``kind`` (a payload that does not fit is refused with 422 and nothing is
    written) before ``handler`` sees it."""

    async def receive(session: AsyncSession, envelope: EventEnvelope) -> None:
        try:
            payload = kind.model_validate(envelope.payload)
        except ValidationError as exc:
            errors = [
                FieldError(pointer="/body/payload/" + "/".join(str(part) for part in error["loc"]), detail=error["msg"])
                for error in exc.errors()
            ]
            raise UnprocessableContent(f"the payload is not a valid {kind.event_type} event", errors=errors) from exc
        await handler(session, payload, envelope)

    return kind.event_type, receive
