"""Declared event payloads: the type is named once on the payload class, and a receiver's handler
only ever sees a payload of that class."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import pytest

from shared.events import EventEnvelope, EventPayload, handle
from shared.problems import UnprocessableContent


class SeatTaken(EventPayload):
    event_type: ClassVar[str] = "seat.taken"

    seat_id: str
    minutes: int


def envelope(payload: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(), type="seat.taken", source="test", occurred_at=dt.datetime.now(dt.UTC), payload=payload
    )


async def test_a_handler_is_registered_under_its_payloads_type_and_sees_the_typed_payload() -> None:
    seen: list[SeatTaken] = []

    async def on_seat_taken(session: Any, taken: SeatTaken, env: EventEnvelope) -> None:
        seen.append(taken)

    event_type, handler = handle(SeatTaken, on_seat_taken)
    assert event_type == "seat.taken"
    await handler(None, envelope({"seat_id": "s1", "minutes": 30}))  # type: ignore[arg-type]
    assert seen == [SeatTaken(seat_id="s1", minutes=30)]


async def test_a_payload_that_does_not_fit_is_refused_naming_the_field_and_the_handler_never_runs() -> None:
    async def never(session: Any, taken: SeatTaken, env: EventEnvelope) -> None:
        raise AssertionError("the handler must not run")

    _, handler = handle(SeatTaken, never)
    with pytest.raises(UnprocessableContent) as refused:
        await handler(None, envelope({"seat_id": "s1", "minutes": "many"}))  # type: ignore[arg-type]
    assert refused.value.status == 422
    pointers = [error["pointer"] for error in refused.value.extensions["errors"]]
    assert pointers == ["/body/payload/minutes"]
