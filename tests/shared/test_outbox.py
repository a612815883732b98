"""The transactional outbox: nothing lost, duplicates only as the same event id, replica-safe."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.catalog.models import InboxEvent, OutboxEvent
from shared.app import ServiceSpec, build_service_app
from shared.db import create_sessionmaker, utcnow
from shared.events import EventEnvelope
from shared.outbox import DispatchPolicy, HttpEventSink, OutboxDispatcher, PermanentDeliveryError, enqueue
from shared.state import ServiceState, state_of
from tests.conftest import AppFactory
from tests.support import LiveServer, asgi_client, identity_headers, make_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def maker(engines: dict[str, AsyncEngine]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real commits (dispatchers run in their own transactions); the tables are emptied around."""
    session_maker = create_sessionmaker(engines["catalog"])

    async def wipe() -> None:
        async with session_maker() as session, session.begin():
            await session.execute(delete(OutboxEvent))
            await session.execute(delete(InboxEvent))

    await wipe()
    yield session_maker
    await wipe()


async def write_events(maker: async_sessionmaker[AsyncSession], count: int, *, commit: bool = True) -> list[str]:
    async with maker() as session:
        ids = [
            (await enqueue(session, OutboxEvent, event_type="test.happened", source="catalog", payload={"n": n})).id
            for n in range(count)
        ]
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return ids


async def statuses(maker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with maker() as session:
        return dict((await session.execute(select(OutboxEvent.id, OutboxEvent.status))).all())


class Recorder:
    def __init__(self, fail_times: int = 0, permanent: bool = False) -> None:
        self.seen: list[uuid.UUID] = []
        self.fail_times = fail_times
        self.permanent = permanent

    async def __call__(self, envelope: EventEnvelope) -> None:
        if self.fail_times:
            self.fail_times -= 1
            if self.permanent:
                raise PermanentDeliveryError("receiver refused it")
            raise ConnectionError("receiver down")
        self.seen.append(envelope.id)


FAST = DispatchPolicy(batch_size=10, backoff_base_s=0.01, backoff_max_s=0.02, lease_s=30, poll_interval_s=0.01)


async def test_event_commits_with_the_change_or_not_at_all(maker: async_sessionmaker[AsyncSession]) -> None:
    kept = await write_events(maker, 2)
    await write_events(maker, 3, commit=False)
    assert set(await statuses(maker)) == set(kept)


async def test_dispatcher_delivers_in_order_and_marks_delivered(maker: async_sessionmaker[AsyncSession]) -> None:
    ids = await write_events(maker, 25)
    recorder = Recorder()
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=recorder, policy=FAST)
    delivered = 0
    while (n := await dispatcher.run_once()) > 0:
        delivered += n
    assert delivered == 25
    assert [str(i) for i in recorder.seen] == ids
    assert set((await statuses(maker)).values()) == {"delivered"}


async def test_failures_back_off_then_succeed(maker: async_sessionmaker[AsyncSession]) -> None:
    [event_id] = await write_events(maker, 1)
    recorder = Recorder(fail_times=2)
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=recorder, policy=FAST)
    assert await dispatcher.run_once() == 0
    async with maker() as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None
        assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
        assert row.last_error == "ConnectionError: receiver down"
        assert row.available_at > row.created_at
    for _ in range(100):
        if await dispatcher.run_once():
            break
        await asyncio.sleep(0.01)
    async with maker() as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None
        assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    assert [str(i) for i in recorder.seen] == [event_id]


async def test_permanent_failure_and_exhausted_retries_are_dead(maker: async_sessionmaker[AsyncSession]) -> None:
    [refused] = await write_events(maker, 1)
    dispatcher = OutboxDispatcher(
        sessionmaker=maker, model=OutboxEvent, deliver=Recorder(fail_times=1, permanent=True), policy=FAST
    )
    await dispatcher.run_once()
    assert (await statuses(maker))[refused] == "dead"

    [flaky] = await write_events(maker, 1)
    policy = DispatchPolicy(batch_size=10, max_attempts=2, backoff_base_s=0.001, backoff_max_s=0.001)
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=Recorder(fail_times=5), policy=policy)
    for _ in range(50):
        await dispatcher.run_once()
        if (await statuses(maker))[flaky] == "dead":
            break
        await asyncio.sleep(0.005)
    async with maker() as session:
        row = await session.get(OutboxEvent, flaky)
        assert row is not None
        assert (row.status, row.attempts) == ("dead", 2)


async def test_expired_lease_is_delivered_again(maker: async_sessionmaker[AsyncSession]) -> None:
    """A dispatcher that claimed and died: its lease runs out and another one delivers."""
    ids = await write_events(maker, 3)
    dead = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=Recorder(), policy=FAST, name="dead")
    claimed = await dead.claim()  # ...and never comes back
    assert [str(e.id) for e in claimed] == ids
    survivor = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=Recorder(), policy=FAST)
    assert await survivor.run_once() == 0, "a live lease must be respected"
    async with maker() as session, session.begin():
        await session.execute(update(OutboxEvent).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
    recorder = Recorder()
    survivor.deliver = recorder
    assert await survivor.run_once() == 3
    assert [str(i) for i in recorder.seen] == ids


async def test_concurrent_dispatchers_never_share_an_event(maker: async_sessionmaker[AsyncSession]) -> None:
    """Replicas claim disjoint batches (SKIP LOCKED on PostgreSQL, the single writer on SQLite)."""
    await write_events(maker, 120)
    recorders = [Recorder() for _ in range(4)]
    dispatchers = [
        OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=r, policy=FAST, name=f"replica-{i}")
        for i, r in enumerate(recorders)
    ]

    batches: list[int] = []

    async def drain(d: OutboxDispatcher) -> None:
        while delivered := await d.run_once():
            batches.append(delivered)

    await asyncio.gather(*(drain(d) for d in dispatchers))
    seen = [event_id for r in recorders for event_id in r.seen]
    # A claim that ran its sub-select more than once took several batches at a time.
    assert max(batches) <= FAST.batch_size, batches
    assert len(seen) == 120
    assert len(set(seen)) == 120
    assert set((await statuses(maker)).values()) == {"delivered"}


def receiver_app(service_settings_dir: Path, url: str, handled: list[uuid.UUID]) -> FastAPI:
    async def on_happened(session: AsyncSession, envelope: EventEnvelope) -> None:
        handled.append(envelope.id)

    spec = ServiceSpec(
        name="catalog",
        title="receiver",
        description="test receiver",
        outbox_model=OutboxEvent,
        inbox_model=InboxEvent,
        event_handlers={"test.happened": on_happened},
    )
    return build_service_app(spec, make_settings("catalog", url, service_settings_dir))


async def test_inbox_processes_each_event_id_once(
    maker: async_sessionmaker[AsyncSession], database_urls: dict[str, str], tmp_path: Path
) -> None:
    handled: list[uuid.UUID] = []
    app = receiver_app(tmp_path, database_urls["catalog"], handled)
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "test.happened",
        "source": "credentials",
        "occurred_at": utcnow().isoformat(),
        "payload": {"n": 1},
    }
    async with asgi_client(app) as client:
        first = await client.post("/internal/events", json=envelope)
        again = await client.post("/internal/events", json=envelope)
        unknown = await client.post("/internal/events", json={**envelope, "id": str(uuid.uuid4()), "type": "x.y"})
    assert first.json()["status"] == "processed"
    assert again.json()["status"] == "duplicate"
    assert [str(i) for i in handled] == [envelope["id"]]
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"pointer": "/body/type", "detail": "unknown event type 'x.y'"}]


async def test_crash_between_delivery_and_record_loses_nothing(
    maker: async_sessionmaker[AsyncSession], database_urls: dict[str, str], tmp_path: Path
) -> None:
    """Kill -9 a dispatcher process right after a delivery it never recorded; a new dispatcher
    delivers everything; the receiver's handler runs once per event id, the redelivery is
    recognised as the same id."""
    ids = await write_events(maker, 8)
    handled: list[uuid.UUID] = []
    receiver = await LiveServer(receiver_app(tmp_path, database_urls["catalog"], handled)).start()
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.shared.outbox_worker",
        "--database-url",
        database_urls["catalog"],
        "--receiver",
        receiver.url,
        "--hang-after",
        "3",
        "--lease",
        "1",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert worker.stdout is not None
        lines: list[str] = []
        while (line := (await asyncio.wait_for(worker.stdout.readline(), 30)).decode().strip()) != "hanging":
            assert line, "worker ended before the crash point"
            lines.append(line)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        state = await statuses(maker)
        assert list(state.values()).count("delivered") == 2, "the third delivery was never recorded"
        assert len(handled) == 3, "but the receiver did get it"

        await asyncio.sleep(1.1)  # the dead worker's lease runs out
        sink = HttpEventSink({"test": receiver.url})
        survivor = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=sink, policy=FAST)
        while await survivor.run_once():
            pass
        await sink.aclose()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        await receiver.stop()

    assert set((await statuses(maker)).values()) == {"delivered"}
    assert sorted(str(i) for i in handled) == sorted(ids), "every event handled exactly once"
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 8


async def test_ops_endpoint_reports_backlog_and_retries_dead(make_app: AppFactory, keys_dir: Path) -> None:
    app = await make_app("catalog")
    async with state_of(app, ServiceState).sessionmaker() as session:
        pending = await enqueue(session, OutboxEvent, event_type="test.happened", source="catalog", payload={})
        dead = await enqueue(session, OutboxEvent, event_type="test.happened", source="catalog", payload={})
        dead.status, dead.last_error, dead.attempts = "dead", "ValueError: nope", 12
        pending.created_at = utcnow() - dt.timedelta(minutes=5)
        await session.commit()
    async with asgi_client(app) as client:
        client.headers.update(identity_headers(keys_dir, "catalog"))
        summary = (await client.get("/v1/ops/catalog/outbox")).json()
        retried = await client.post(f"/v1/ops/catalog/outbox/{dead.id}/retry")
        again = await client.post(f"/v1/ops/catalog/outbox/{dead.id}/retry")
        missing = await client.post(f"/v1/ops/catalog/outbox/{uuid.uuid4()}/retry")
        after = (await client.get("/v1/ops/catalog/outbox")).json()
    assert (summary["pending"], summary["dead"]) == (1, 1)
    assert 299 < summary["oldest_pending_age_s"] < 400
    assert summary["recent_dead"][0]["last_error"] == "ValueError: nope"
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    assert again.status_code == 409
    assert again.json()["current_state"] == "pending"
    assert missing.status_code == 404
    assert (after["pending"], after["dead"]) == (2, 0)


async def test_enqueue_refuses_an_event_that_could_never_travel(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session:
        with pytest.raises(ValueError, match="type"):
            await enqueue(session, OutboxEvent, event_type="Offering-Published", source="catalog", payload={})


async def test_a_malformed_row_goes_dead_without_blocking_the_rest(maker: async_sessionmaker[AsyncSession]) -> None:
    ids = await write_events(maker, 3)
    async with maker() as session, session.begin():
        # Written around enqueue, older than everything else: first in line.
        await session.execute(
            OutboxEvent.__table__.insert().values(
                id=str(uuid.uuid4()),
                event_type="Not A Type",
                source="catalog",
                payload={},
                created_at=utcnow() - dt.timedelta(hours=1),
                available_at=utcnow() - dt.timedelta(hours=1),
                status="pending",
                attempts=0,
            )
        )
    recorder = Recorder()
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=recorder, policy=FAST)
    assert await dispatcher.run_once() == 3
    assert [str(i) for i in recorder.seen] == ids
    async with maker() as session:
        bad = (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "Not A Type"))).one()
    assert bad.status == "dead"
    assert bad.last_error is not None
    assert bad.last_error.startswith("malformed event")


async def test_an_event_nobody_subscribes_to_is_dead_not_delivered(maker: async_sessionmaker[AsyncSession]) -> None:
    [event_id] = await write_events(maker, 1)
    sink = HttpEventSink({"award": "http://127.0.0.1:1"})
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=sink, policy=FAST)
    assert await dispatcher.run_once() == 0
    await sink.aclose()
    async with maker() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert row.status == "dead"
    assert row.last_error == "PermanentDeliveryError: no subscriber is configured for events of type 'test.happened'"


async def test_a_batch_stops_before_its_lease_runs_out_and_hands_the_rest_back(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    await write_events(maker, 6)

    async def slow(envelope: EventEnvelope) -> None:
        await asyncio.sleep(0.3)

    # Lease 1 s, a delivery may take 0.5 s: only the events that can finish inside the lease start.
    policy = DispatchPolicy(batch_size=6, lease_s=1.0, delivery_timeout_s=0.5)
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=slow, policy=policy)
    delivered = await dispatcher.run_once()
    assert 1 <= delivered < 6
    async with maker() as session:
        rest = (await session.scalars(select(OutboxEvent).where(OutboxEvent.status == "pending"))).all()
    assert len(rest) == 6 - delivered
    assert all(row.locked_by is None and row.attempts == 0 for row in rest), "handed back, attempt uncounted"


async def test_stop_is_honoured_between_events(maker: async_sessionmaker[AsyncSession]) -> None:
    await write_events(maker, 5)
    stop = asyncio.Event()

    async def deliver_then_stop(envelope: EventEnvelope) -> None:
        stop.set()

    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=deliver_then_stop, policy=FAST)
    assert await dispatcher.run_once(stop) == 1
    assert list((await statuses(maker)).values()).count("pending") == 4


async def test_an_event_whose_attempts_all_died_with_the_dispatcher_goes_dead(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    [event_id] = await write_events(maker, 1)
    async with maker() as session, session.begin():
        await session.execute(
            update(OutboxEvent).values(attempts=12, locked_by="ghost", locked_until=utcnow() - dt.timedelta(seconds=1))
        )
    dispatcher = OutboxDispatcher(sessionmaker=maker, model=OutboxEvent, deliver=Recorder(), policy=FAST)
    assert await dispatcher.run_once() == 0
    async with maker() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert (row.status, row.last_error) == ("dead", "gave up: attempts exhausted")


async def test_concurrent_duplicate_deliveries_run_the_handler_once(
    maker: async_sessionmaker[AsyncSession], database_urls: dict[str, str], tmp_path: Path
) -> None:
    handled: list[uuid.UUID] = []
    server = await LiveServer(receiver_app(tmp_path, database_urls["catalog"], handled)).start()
    envelope = EventEnvelope(
        id=uuid.uuid4(), type="test.happened", source="credentials", occurred_at=utcnow(), payload={}
    )
    sink = HttpEventSink({"test": server.url})
    try:
        await asyncio.gather(*(sink(envelope) for _ in range(8)))
    finally:
        await sink.aclose()
        await server.stop()
    assert handled == [envelope.id]
