"""The bulk worker: pending bulk rows become badges, in batches, safely beside other replicas.

Every replica runs one (``BADGES_BULK_WORKER_ENABLED``). A batch goes:

1. **claim** (one short transaction): up to ``bulk_batch_size`` pending rows whose lease is free,
   oldest job first and in row order, leased to this worker — ``SELECT … FOR UPDATE SKIP
   LOCKED`` then ``UPDATE`` of those ids, as the outbox claims (ADR 0004): on PostgreSQL no two
   replicas claim a row; on SQLite the transaction's BEGIN IMMEDIATE makes the pair atomic. Rows whose claims all ended
   without an outcome (the worker died each time) fail as abandoned instead of looping forever.
2. **prepare** (one short transaction): rows whose external id was issued before become replays
   of that badge (or errors, if their content differs); per achievement, what signing needs
   (``issuing.load_award``), the open status lists, and free random indexes.
3. **sign** (no transaction, CPU only; the event loop is given back between rows so requests
   keep being served): every representation of every badge.
4. **write** (one transaction): the status lists are locked (concurrent writers of one list queue
   here, after their signing), any index taken meanwhile is drawn again and that badge signed
   again, then badges, their idempotency keys, the lists' counts and every row's outcome are
   written together.

A badge and its row's mark commit together, so a crash leaves each row either done with its
badge or pending without one: after the lease runs out another worker (or this one, restarted)
signs the pending ones again, and nothing was written twice. The idempotency key is the second
lock: a worker that outlived its lease while another took its rows loses the unique key when it
writes, rolls back, and finds the other's badges as replays when it tries again. A batch that
keeps failing is split into single rows, so one bad row cannot hold back the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import random
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.badges.bulk import service as bulk
from services.badges.bulk.input import Source, row_error
from services.badges.context import Context
from services.badges.errors import BulkRowAbandoned, IdempotencyMismatch
from services.badges.issuing import service as issuing
from services.badges.issuing import signing
from services.badges.models import Badge, BulkJob, BulkRow, IdempotencyKey, StatusList, status_slot
from services.badges.openbadges.documents import Urls
from services.badges.schemas import BadgeCreate
from services.badges.settings import BadgesSettings
from services.badges.vault import Signer
from shared.db import utcnow
from shared.problems import FieldError, InternalError, Problem, json_pointer

logger = logging.getLogger("practicum.badges.bulk")

_WRITE_TRIES = 3
_DRAW_TRIES = 20
# Core table: one UPDATE executed with many parameter sets (the ORM would read a list of
# parameters as a bulk update by primary key, without the ``status`` condition).
_ROWS = cast(Table, BulkRow.__table__)
_BADGES = cast(Table, Badge.__table__)
_KEYS = cast(Table, IdempotencyKey.__table__)


@dataclass
class Claimed:
    """A claimed row and, once decided, its outcome: a new badge, an earlier one, or an error."""

    id: str
    job_id: str
    tenant_id: str
    number: int
    external_id: str
    request: dict[str, Any]
    source: Source
    body: BadgeCreate | None = None
    badge: Badge | None = None
    badge_id: str | None = None
    replayed: bool = False
    error: dict[str, Any] | None = None

    def fail(self, problem: Problem) -> None:
        self.badge, self.error = None, row_error(problem, self.source, self.request)


@dataclass
class _Group:
    """The claimed rows of one tenant and achievement, and what signing them needs."""

    ctx: Context
    achievement_id: str
    rows: list[Claimed] = field(default_factory=list)
    award: signing.Award | None = None
    lists: dict[str, StatusList] = field(default_factory=dict)
    indexes: dict[str, list[int]] = field(default_factory=dict)  # per purpose, one per row


@dataclass
class BulkWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    urls: Urls
    signer: Signer
    settings: BadgesSettings
    name: str = field(default_factory=lambda: f"bulk-{os.getpid()}-{uuid.uuid4().hex[:8]}")

    # --- 1. claim -----------------------------------------------------------------------------

    async def claim(self) -> list[Claimed]:
        now = utcnow()
        free = or_(BulkRow.locked_until.is_(None), BulkRow.locked_until < now)
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED):
        # PostgreSQL may run such a sub-select more than once, each time skipping the rows it
        # locked before, and claim several batches at once. The transaction holds what the
        # SELECT locked until the UPDATE; on SQLite it holds the write lock from BEGIN.
        due = (
            select(BulkRow.id)
            .where(BulkRow.status == "pending", free)
            .order_by(BulkRow.created_at, BulkRow.job_id, BulkRow.row_number)
            .limit(self.settings.bulk_batch_size)
            .with_for_update(skip_locked=True)  # SQLite ignores it: its single writer suffices
        )
        lease = {
            "locked_by": self.name,
            "locked_until": now + dt.timedelta(seconds=self.settings.bulk_lease_s),
            "attempts": BulkRow.attempts + 1,
        }
        returned = (
            BulkRow.id,
            BulkRow.job_id,
            BulkRow.tenant_id,
            BulkRow.row_number,
            BulkRow.external_id,
            BulkRow.request,
        )
        abandoned = BulkRowAbandoned(
            f"the row was claimed {self.settings.bulk_max_attempts} times and the worker stopped each time; "
            "send it again in a new job"
        )
        exhausted = (
            update(BulkRow)
            .where(BulkRow.status == "pending", BulkRow.attempts >= self.settings.bulk_max_attempts, free)
            .values(status="failed", error=abandoned.to_dict(), processed_at=now, locked_by=None, locked_until=None)
            .execution_options(synchronize_session=False)
        )
        async with self.sessionmaker() as session, session.begin():
            await session.execute(exhausted)
            ids = list(await session.scalars(due))
            claim = update(BulkRow).where(BulkRow.id.in_(ids)).values(**lease).returning(*returned)
            rows = (await session.execute(claim.execution_options(synchronize_session=False))).all() if ids else []
            job_ids = {row.job_id for row in rows}
            sources = dict(
                (await session.execute(select(BulkJob.id, BulkJob.source).where(BulkJob.id.in_(job_ids)))).all()
            )
        claimed = [
            Claimed(
                id=row.id,
                job_id=row.job_id,
                tenant_id=row.tenant_id,
                number=row.row_number,
                external_id=row.external_id or "",
                request=row.request or {},
                source="csv" if sources.get(row.job_id) == "csv" else "json",
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda c: (c.job_id, c.number))

    # --- the batch ----------------------------------------------------------------------------

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and issue it; how many rows were claimed."""
        claimed = await self.claim()
        if claimed:
            await self._issue_or_split(claimed, stop)
        return len(claimed)

    async def _issue_or_split(self, claimed: list[Claimed], stop: asyncio.Event | None) -> None:
        for attempt in range(1, _WRITE_TRIES + 1):
            try:
                await self.issue(claimed, stop)
                return
            except DBAPIError as exc:
                # A concurrent writer took an index or an external id (unique keys), or the
                # database broke off (a deadlock): everything is decided again from the start.
                logger.warning(
                    "bulk batch not written",
                    extra={"rows": len(claimed), "try": attempt, "error": str(exc.orig)[:500]},
                )
                if attempt == _WRITE_TRIES and not isinstance(exc, IntegrityError):
                    # The database itself is failing: the rows stay claimed, and are tried
                    # again once the lease runs out (and abandoned after too many tries).
                    raise
        # Still refused by a unique key: one row of the batch is the cause (two rows of one
        # external id in one batch, from two jobs); alone, each gets its own outcome.
        if len(claimed) > 1:
            for row in claimed:
                await self._issue_or_split([dataclasses.replace(row, error=None, badge=None)], stop)
            return
        logger.exception("bulk row could not be written", extra={"job_id": claimed[0].job_id, "row": claimed[0].number})
        claimed[0].fail(InternalError("the row could not be written; it is logged with its job and row number"))
        async with self.sessionmaker() as session, session.begin():
            await self._mark(session, claimed, utcnow())

    async def issue(self, claimed: list[Claimed], stop: asyncio.Event | None = None) -> None:
        for row in claimed:
            row.badge, row.badge_id, row.replayed, row.error = None, None, False, None
        groups = await self._prepare(claimed)
        await self._sign(groups)
        if stop is not None and stop.is_set():
            await self._release(claimed)
            return
        await self._write(claimed, groups)

    # --- 2. prepare ---------------------------------------------------------------------------

    async def _prepare(self, claimed: list[Claimed]) -> list[_Group]:
        groups: dict[tuple[str, str], _Group] = {}
        batch: dict[str, set[int]] = {}  # indexes drawn in this batch, per status list
        async with self.sessionmaker() as session, session.begin():
            await self._replays(session, claimed)
            for row in claimed:
                if row.error is not None or row.badge_id is not None:
                    continue
                assert row.body is not None
                key = (row.tenant_id, row.body.achievement_id)
                if key not in groups:
                    ctx = Context(tenant_id=row.tenant_id, urls=self.urls, signer=self.signer)
                    groups[key] = _Group(ctx=ctx, achievement_id=row.body.achievement_id)
                groups[key].rows.append(row)
            for group in groups.values():
                try:
                    group.award = await issuing.load_award(session, group.ctx, group.achievement_id)
                except Problem as problem:
                    for row in group.rows:
                        row.fail(problem)
                    continue
                group.lists = await issuing.open_lists(session, group.ctx, group.award, self.settings.status_list_size)
                for purpose, status_list in group.lists.items():
                    # Achievements of one issuer share its lists: one draw must avoid the other's.
                    drawn = batch.setdefault(status_list.id, set())
                    group.indexes[purpose] = await _draw(session, status_list, len(group.rows), drawn)
                    drawn.update(group.indexes[purpose])
        return [group for group in groups.values() if group.award is not None]

    async def _replays(self, session: AsyncSession, claimed: list[Claimed]) -> None:
        """Rows whose external id has a badge already: that badge, if the content is the same."""
        by_tenant: dict[str, dict[str, Claimed]] = defaultdict(dict)
        for row in claimed:
            try:
                row.body = BadgeCreate.model_validate(row.request)
            except ValidationError as exc:  # stored by an older version with other rules
                errors = [
                    {"pointer": json_pointer(e["loc"]), "detail": e["msg"]} for e in exc.errors(include_url=False)
                ]
                row.fail(InternalError("the stored row no longer validates; send it again", errors=errors))
                continue
            by_tenant[row.tenant_id][bulk.idempotency_key(row.external_id)] = row
        for tenant_id, rows in by_tenant.items():
            found = await session.execute(
                select(IdempotencyKey.key, IdempotencyKey.request_digest, IdempotencyKey.badge_id).where(
                    IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key.in_(list(rows))
                )
            )
            for key, digest, badge_id in found.all():
                row = rows[key]
                assert row.body is not None
                if digest == issuing.request_digest(row.body):
                    row.badge_id, row.replayed = badge_id, True
                else:
                    row.fail(
                        IdempotencyMismatch(
                            f"external id {row.external_id!r} was issued before with other content (badge {badge_id}); "
                            "use a new external id for a new badge",
                            errors=[FieldError(pointer="/external_id", detail="already issued with other content")],
                        )
                    )

    # --- 3. sign ------------------------------------------------------------------------------

    async def _sign(self, groups: list[_Group]) -> None:
        now = utcnow()
        for group in groups:
            for i, row in enumerate(group.rows):
                self._sign_row(group, row, {purpose: drawn[i] for purpose, drawn in group.indexes.items()}, now)
                await asyncio.sleep(0)  # signing is CPU work: let requests in between rows

    def _sign_row(self, group: _Group, row: Claimed, indexes: dict[str, int], now: dt.datetime) -> None:
        assert group.award is not None
        assert row.body is not None
        try:
            issuing.check_request(group.award, row.body, now=now)
            row.badge = signing.sign_badge(
                group.ctx,
                group.award,
                row.body,
                badge_id=str(uuid.uuid4()),
                lists=group.lists,
                indexes=indexes,
                now=now,
                max_bytes=self.settings.max_credential_bytes,
            )
        except Problem as problem:
            row.fail(problem)
        except Exception:  # a bug must cost one row, not the batch
            logger.exception("bulk row could not be signed", extra={"job_id": row.job_id, "row": row.number})
            row.fail(InternalError("the row could not be signed; it is logged with its job and row number"))

    # --- 4. write -----------------------------------------------------------------------------

    async def _write(self, claimed: list[Claimed], groups: list[_Group]) -> None:
        now = utcnow()
        async with self.sessionmaker() as session, session.begin():
            list_ids = sorted({status_list.id for group in groups for status_list in group.lists.values()})
            if list_ids:
                # Writers of one list queue here (PostgreSQL), in one order: no deadlocks.
                await session.execute(
                    select(StatusList.id).where(StatusList.id.in_(list_ids)).order_by(StatusList.id).with_for_update()
                )
            batch: dict[str, set[int]] = defaultdict(set)  # indexes this batch holds, per status list
            for group in groups:
                for purpose, status_list in group.lists.items():
                    key = status_slot(purpose)[1].key
                    batch[status_list.id].update(getattr(row.badge, key) for row in group.rows if row.badge)
            for group in groups:
                await self._redraw_taken(session, group, batch, now)
            written = [row for row in claimed if row.badge is not None and row.body is not None]
            if written:
                # Core inserts, many rows per statement: the ORM's unit of work costs more than
                # the database here.
                await session.execute(insert(_BADGES), [_values(row.badge) for row in written if row.badge])
                keys = [
                    issuing.idempotency_row(
                        Context(tenant_id=row.tenant_id, urls=self.urls, signer=self.signer),
                        bulk.idempotency_key(row.external_id),
                        row.body,
                        row.badge.id,
                        now,
                    )
                    for row in written
                    if row.badge is not None and row.body is not None
                ]
                await session.execute(insert(_KEYS), [_values(key) for key in keys])
            for group in groups:
                issued = sum(1 for row in group.rows if row.badge is not None)
                if issued:
                    await issuing.count_allocated(session, group.lists, issued, self.settings.status_list_fill)
            await self._mark(session, claimed, now)

    async def _redraw_taken(
        self, session: AsyncSession, group: _Group, batch: dict[str, set[int]], now: dt.datetime
    ) -> None:
        """Indexes taken since they were drawn (a single issue in between): draw and sign again."""
        rows = [row for row in group.rows if row.badge is not None]
        for purpose, status_list in group.lists.items():
            column, index, _ = status_slot(purpose)
            mine = {getattr(row.badge, index.key): row for row in rows}
            taken = set(await session.scalars(select(index).where(column == status_list.id, index.in_(list(mine)))))
            for number in taken:
                row = mine[number]
                assert row.badge is not None
                indexes = {p: getattr(row.badge, status_slot(p)[1].key) for p in group.lists}
                indexes[purpose] = (await _draw(session, status_list, 1, batch[status_list.id]))[0]
                batch[status_list.id].add(indexes[purpose])
                self._sign_row(group, row, indexes, now)

    async def _mark(self, session: AsyncSession, claimed: list[Claimed], now: dt.datetime) -> None:
        """Every row's outcome, written with its badge (only rows still pending: a row another
        worker finished after taking over an expired lease stays as that worker wrote it)."""
        await session.execute(
            update(_ROWS)
            .where(_ROWS.c.id == bindparam("row_id"), _ROWS.c.status == "pending")
            .values(
                status=bindparam("new_status"),
                badge_id=bindparam("new_badge_id"),
                replayed=bindparam("new_replayed"),
                error=bindparam("new_error"),
                processed_at=now,
                locked_by=None,
                locked_until=None,
            ),
            [
                {
                    "row_id": row.id,
                    "new_status": "failed" if row.error is not None else "issued",
                    "new_badge_id": None if row.error is not None else (row.badge.id if row.badge else row.badge_id),
                    "new_replayed": row.replayed and row.error is None,
                    "new_error": row.error,
                }
                for row in claimed
            ],
        )

    async def _release(self, claimed: list[Claimed]) -> None:
        """Hand rows back unattempted (stopping): another worker may take them at once."""
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(BulkRow)
                .where(BulkRow.id.in_([row.id for row in claimed]), BulkRow.locked_by == self.name)
                .values(locked_by=None, locked_until=None, attempts=BulkRow.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    # --- the loop -----------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until ``stop``; a full batch is followed at once by the next one."""
        while not stop.is_set():
            try:
                claimed = await self.run_once(stop)
            except Exception:
                logger.exception("bulk worker iteration failed")
                claimed = 0
            if claimed >= self.settings.bulk_batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.bulk_poll_interval_s)


def _values(row: Badge | IdempotencyKey) -> dict[str, Any]:
    """A new ORM object's column values, with the columns' Python defaults filled in (what a
    flush would do), for a Core insert."""
    values = {}
    for column in row.__table__.columns:
        value = row.__dict__.get(column.key)
        if value is None and column.default is not None and getattr(column.default, "is_scalar", False):
            value = column.default.arg
        values[column.key] = value
    return values


async def _draw(session: AsyncSession, status_list: StatusList, count: int, avoid: set[int]) -> list[int]:
    """``count`` distinct random indexes of the list that no badge holds and ``avoid`` does not
    name (herd privacy: an index says nothing about when or to whom it was given)."""
    column, index, _ = status_slot(status_list.purpose)
    chosen: list[int] = []
    for _try in range(_DRAW_TRIES):
        need = count - len(chosen)
        if need <= 0:
            break
        candidates: set[int] = set()
        while len(candidates) < need:
            candidate = secrets.randbelow(status_list.size)
            if candidate not in avoid and candidate not in chosen:
                candidates.add(candidate)
        taken = set(await session.scalars(select(index).where(column == status_list.id, index.in_(candidates))))
        free = list(candidates - taken)
        random.shuffle(free)  # set order would follow the numbers
        chosen.extend(free)
    if len(chosen) < count:
        raise RuntimeError(f"no {count} free indexes found in status list {status_list.id}")
    return chosen
