"""Transactional outbox and idempotent inbox, usable by every service.

Writing: ``enqueue`` adds an ``OutboxEvent`` row in the caller's session, so the event commits
or rolls back together with the change that caused it.

Delivering: ``OutboxDispatcher`` claims due rows with a lease (``locked_by``/``locked_until``)
in a short transaction — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never claim the
same row; SQLite serialises writers, so the conditional UPDATE is already atomic there — then
delivers them outside any transaction, then records the outcome. A dispatcher that dies after
claiming leaves a lease that expires, and another dispatcher (or the same one restarted)
delivers again: at least once, never lost. Failures back off exponentially with full jitter;
permanent failures (4xx other than 408/429) or too many attempts mark the row ``dead``.

Receiving: ``inbox_router`` accepts delivered events at ``POST /internal/events`` and records
each event id in ``inbox_events`` in the same transaction as the handler's effect, so a
duplicate delivery is recognised by its id and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import ValidationError
from sqlalchemy import JSON, Index, Integer, String, Text, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.client import UpstreamProblem
from shared.db import UTCDateTime, utcnow
from shared.events import EventEnvelope, EventHandler, EventPayload, InboxReceipt
from shared.problems import FieldError, UnprocessableContent
from shared.standard_client import StandardServiceClient

logger = logging.getLogger("practicum.outbox")

OutboxStatus = Literal["pending", "delivered", "dead"]


class OutboxMixin:
    """Columns of a service's ``outbox_events`` table; the service's models declare the class."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # The dispatcher's claim query walks exactly this index.
        return (Index("ix_outbox_events_due", "status", "available_at"),)


class InboxMixin:
    """Columns of a service's ``inbox_events`` table: event ids already processed."""

    __tablename__ = "inbox_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


async def enqueue(
    session: AsyncSession,
    model: type[OutboxMixin],
    *,
    source: str,
    payload: EventPayload | Mapping[str, Any],
    event_type: str | None = None,
    tenant_id: str | None = None,
) -> OutboxMixin:
    """Record an event in the caller's transaction; it is delivered only if that commits.

    Services send declared payloads (:class:`EventPayload`: the type comes from its class); a
    plain mapping with an explicit ``event_type`` is for the kernel's own tests. The event is
    validated as the envelope it will travel in now, so a malformed event fails the caller's
    change instead of sitting undeliverable in the outbox.
    """
    if isinstance(payload, EventPayload):
        if event_type is not None and event_type != payload.event_type:
            raise ValueError(f"a {type(payload).__name__} is a {payload.event_type!r} event, not {event_type!r}")
        event_type, payload = payload.event_type, payload.model_dump(mode="json")
    if event_type is None:
        raise ValueError("an event without a declared payload needs its event_type")
    now = utcnow()
    envelope = EventEnvelope(
        id=uuid.uuid4(), type=event_type, source=source, tenant_id=tenant_id, occurred_at=now, payload=dict(payload)
    )
    row = model()
    row.id = str(envelope.id)
    row.event_type = envelope.type
    row.source = envelope.source
    row.tenant_id = envelope.tenant_id
    row.payload = envelope.payload
    row.created_at = now
    row.available_at = now
    row.status = "pending"
    row.attempts = 0
    session.add(row)
    await session.flush()
    return row


def envelope_of(row: OutboxMixin) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.UUID(row.id),
        type=row.event_type,
        source=row.source,
        tenant_id=row.tenant_id,
        occurred_at=row.created_at,
        payload=row.payload,
    )


class PermanentDeliveryError(Exception):
    """The receiver refused the event for good (e.g. 422); retrying cannot help."""


Deliver = Callable[[EventEnvelope], Awaitable[None]]


@dataclass
class DispatchPolicy:
    batch_size: int = 50
    max_attempts: int = 12
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    lease_s: float = 60.0
    poll_interval_s: float = 0.5
    # The longest one delivery may take; an event is only started while the lease has at
    # least this much left, so a slow batch never outlives its lease.
    delivery_timeout_s: float = 10.0

    def backoff(self, attempts: int) -> float:
        """Full-jitter exponential backoff, so retrying replicas do not stampede a receiver."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(attempts - 1, 0)))
        return random.uniform(0, ceiling)


@dataclass
class OutboxDispatcher:
    sessionmaker: async_sessionmaker[AsyncSession]
    model: type[OutboxMixin]
    deliver: Deliver
    policy: DispatchPolicy = field(default_factory=DispatchPolicy)
    name: str = field(default_factory=lambda: f"dispatcher-{uuid.uuid4().hex[:12]}")

    async def claim(self) -> list[EventEnvelope]:
        """Lease up to a batch of due events to this dispatcher and count the attempt."""
        model = self.model
        now = utcnow()
        due = (
            select(model.id)
            .where(
                model.status == "pending",
                model.available_at <= now,
                or_(model.locked_until.is_(None), model.locked_until < now),
            )
            .order_by(model.created_at)
            .limit(self.policy.batch_size)
            # Ignored by SQLite (no row locks: its single writer makes the UPDATE atomic).
            .with_for_update(skip_locked=True)
        )
        # Two statements, not UPDATE … WHERE id IN (that SELECT): PostgreSQL may run such a
        # sub-select more than once, each run skipping the rows the previous one locked, and
        # so claim several batches at once (seen in the bulk worker's test). The SELECT's locks
        # hold until the UPDATE; on SQLite the transaction holds the write lock from its BEGIN
        # IMMEDIATE (shared/db.py), so nobody claims in between there either.
        lease = {
            "locked_by": self.name,
            "locked_until": now + dt.timedelta(seconds=self.policy.lease_s),
            "attempts": model.attempts + 1,
        }
        # An event whose every attempt ended with the dispatcher dying (its lease ran out, the
        # outcome never recorded) would otherwise be claimed forever.
        exhausted = (
            update(model)
            .where(
                model.status == "pending",
                model.attempts >= self.policy.max_attempts,
                or_(model.locked_until.is_(None), model.locked_until < now),
            )
            .values(status="dead", locked_by=None, locked_until=None, last_error="gave up: attempts exhausted")
            .execution_options(synchronize_session=False)
        )
        async with self.sessionmaker() as session, session.begin():
            await session.execute(exhausted)
            ids = list(await session.scalars(due))
            claim = (
                update(model)
                .where(model.id.in_(ids))
                .values(**lease)
                .returning(model)
                .execution_options(synchronize_session=False)
            )
            claimed = (await session.scalars(claim)).all() if ids else []
            rows = sorted(claimed, key=lambda r: (r.created_at, r.id))
            envelopes = []
            for row in rows:
                try:
                    envelopes.append(envelope_of(row))
                except ValidationError as exc:
                    # Written around enqueue (by hand, or by an older version): it can never
                    # travel, so it must not block the events behind it.
                    row.status, row.locked_by, row.locked_until = "dead", None, None
                    row.last_error = f"malformed event: {exc.errors()[0]['msg']}"[:2000]
            return envelopes

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim and deliver one batch; returns how many events were delivered.

        Stops early (handing the rest back) when ``stop`` is set or the lease is nearly spent.
        """
        deadline = asyncio.get_running_loop().time() + self.policy.lease_s
        envelopes = await self.claim()
        delivered = 0
        for index, envelope in enumerate(envelopes):
            too_late = asyncio.get_running_loop().time() + self.policy.delivery_timeout_s > deadline
            if too_late or (stop is not None and stop.is_set()):
                await self._release([str(e.id) for e in envelopes[index:]])
                break
            try:
                await self.deliver(envelope)
            except PermanentDeliveryError as exc:
                await self._record_failure(envelope, exc, permanent=True)
            except Exception as exc:  # noqa: BLE001 - any failure is retried later
                await self._record_failure(envelope, exc, permanent=False)
            else:
                await self._record_success(envelope)
                delivered += 1
        return delivered

    async def _release(self, ids: list[str]) -> None:
        """Hand claimed but unattempted events back at once, uncounting the claim's attempt."""
        model = self.model
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(model)
                .where(model.id.in_(ids), model.locked_by == self.name)
                .values(locked_by=None, locked_until=None, attempts=model.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    async def _record_success(self, envelope: EventEnvelope) -> None:
        model = self.model
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(model)
                .where(model.id == str(envelope.id), model.locked_by == self.name)
                .values(status="delivered", delivered_at=utcnow(), locked_by=None, locked_until=None, last_error=None)
                .execution_options(synchronize_session=False)
            )

    async def _record_failure(self, envelope: EventEnvelope, exc: Exception, *, permanent: bool) -> None:
        model = self.model
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(model, str(envelope.id))
            if row is None or row.locked_by != self.name:
                return  # our lease expired and someone else owns the event now
            error = f"{type(exc).__name__}: {exc}"[:2000]
            dead = permanent or row.attempts >= self.policy.max_attempts
            row.status = "dead" if dead else "pending"
            row.available_at = utcnow() + dt.timedelta(seconds=self.policy.backoff(row.attempts))
            row.locked_by = None
            row.locked_until = None
            row.last_error = error
        log = logger.error if dead else logger.warning
        log(
            "outbox delivery failed",
            extra={
                "event_id": str(envelope.id),
                "event_type": envelope.type,
                "attempts": row.attempts,
                "dead": dead,
                "error": error,
            },
        )

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a full batch is followed at once by the next one."""
        while not stop.is_set():
            try:
                envelopes_seen = await self.run_once(stop)
            except Exception:
                logger.exception("outbox dispatcher iteration failed")
                envelopes_seen = 0
            if envelopes_seen >= self.policy.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.policy.poll_interval_s)


class HttpEventSink:
    """Fans an event out to every subscriber whose prefix matches its type."""

    def __init__(self, subscribers: Mapping[str, str], *, timeout: float = 10.0) -> None:
        self.routes = [
            (prefix, StandardServiceClient(url, timeout=timeout)) for prefix, url in sorted(subscribers.items())
        ]

    async def __call__(self, envelope: EventEnvelope) -> None:
        """Deliver to every matching subscriber; an event nobody subscribes to is a
        configuration error, not a delivery (it goes dead, visible to operators)."""
        matching = [
            (prefix, client)
            for prefix, client in self.routes
            if envelope.type == prefix or envelope.type.startswith(prefix.rstrip(".") + ".")
        ]
        if not matching:
            raise PermanentDeliveryError(f"no subscriber is configured for events of type {envelope.type!r}")
        for _prefix, client in matching:
            try:
                await client.deliver_event(envelope)
            except UpstreamProblem as exc:
                if exc.upstream_status in (408, 429):
                    raise
                raise PermanentDeliveryError(f"{client.base_url} refused {envelope.type}: {exc.detail}") from exc

    async def aclose(self) -> None:
        for _prefix, client in self.routes:
            await client.aclose()


def inbox_router(
    *,
    inbox_model: type[InboxMixin],
    handlers: Mapping[str, EventHandler],
    session_dependency: Callable[..., Any],
) -> APIRouter:
    router = APIRouter(tags=["events"])

    @router.post(
        "/internal/events",
        response_model=InboxReceipt,
        summary="Receive an event from another service's outbox (idempotent by event id)",
    )
    async def receive_event(
        envelope: EventEnvelope, session: AsyncSession = Depends(session_dependency, scope="function")
    ) -> InboxReceipt:
        handler = handlers.get(envelope.type)
        if handler is None:
            raise UnprocessableContent(
                f"this service has no handler for events of type {envelope.type!r}",
                errors=[FieldError(pointer="/body/type", detail=f"unknown event type {envelope.type!r}")],
            )
        if await session.get(inbox_model, str(envelope.id)) is not None:
            return InboxReceipt(event_id=envelope.id, status="duplicate")
        row = inbox_model()
        row.event_id = str(envelope.id)
        row.event_type = envelope.type
        row.source = envelope.source
        row.received_at = utcnow()
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            # A concurrent delivery of the same event won the insert.
            return InboxReceipt(event_id=envelope.id, status="duplicate")
        await handler(session, envelope)
        return InboxReceipt(event_id=envelope.id, status="processed")

    return router


__all__ = [
    "DispatchPolicy",
    "EventEnvelope",
    "EventHandler",
    "HttpEventSink",
    "InboxMixin",
    "InboxReceipt",
    "OutboxDispatcher",
    "OutboxMixin",
    "PermanentDeliveryError",
    "enqueue",
]
