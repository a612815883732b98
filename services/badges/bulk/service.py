"""Bulk issuance jobs: a file of rows, each to become one badge (the worker: worker.py).

Submitting stores the job and every row in the request's transaction — a job exists whole or
not at all. Rows that failed validation are stored already ``failed`` with their problem; the
others ``pending``, for the worker.

Sent twice, one badge. Two guards, both per tenant:
- the same file (the same records: ``BulkJob.digest``) is the same job — the second submission
  answers with the first job, whatever its state, and stores nothing;
- each row's ``external_id`` is its Idempotency-Key (``bulk:<external_id>``, in the table
  ``POST /v1/badges`` uses): a row whose id was issued before, by any job, gets that badge
  (``replayed``) when its content is the same, and an error when it differs. So a corrected
  file sent again issues only the rows that had failed.

Progress is counted from the rows whenever asked, so it cannot drift from them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.bulk.input import Submission
from services.badges.models import BulkJob, BulkRow
from services.badges.openbadges import documents as docs
from services.badges.schemas import RowBadge, RowProblem
from shared.db import utcnow
from shared.tenancy import get_in_tenant

KEY_PREFIX = "bulk:"


def idempotency_key(external_id: str) -> str:
    """The Idempotency-Key a bulk row issues under: the tenant's idempotency keys hold it."""
    return KEY_PREFIX + external_id


async def get_job(session: AsyncSession, tenant_id: str, job_id: str) -> BulkJob:
    """The job in the caller's tenant (404 otherwise)."""
    return await get_in_tenant(session, BulkJob, job_id, tenant_id, noun="job")


async def submit(
    session: AsyncSession, *, tenant_id: str, created_by: str, submission: Submission
) -> tuple[BulkJob, bool]:
    """The job for these rows, and whether it was made now (False: the same file came before)."""
    query = select(BulkJob).where(BulkJob.tenant_id == tenant_id, BulkJob.digest == submission.digest)
    earlier = await session.scalar(query)
    if earlier is not None:
        return earlier, False
    now = utcnow()
    job = BulkJob(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        digest=submission.digest,
        source=submission.source,
        total=len(submission.rows),
        created_by=created_by[:200],
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(job)
            await session.flush()
    except IntegrityError:
        # The same file, sent at the same moment, made its job first.
        earlier = await session.scalar(query.execution_options(populate_existing=True))
        assert earlier is not None
        return earlier, False
    await session.execute(
        insert(BulkRow),
        [
            {
                "id": str(uuid.uuid4()),
                "job_id": job.id,
                "tenant_id": tenant_id,
                "row_number": row.number,
                "external_id": row.external_id,
                "request": row.request,
                "status": "failed" if row.error is not None else "pending",
                "error": row.error,
                "replayed": False,
                "attempts": 0,
                "created_at": now,
                "processed_at": now if row.error is not None else None,
            }
            for row in submission.rows
        ],
    )
    return job, True


@dataclass
class Progress:
    status: str
    total: int
    done: int
    failed: int
    pending: int
    replayed: int
    finished_at: dt.datetime | None


async def progress(session: AsyncSession, job: BulkJob) -> Progress:
    counts: dict[str, int] = {"pending": 0, "issued": 0, "failed": 0}
    replayed, claimed, finished = 0, False, None
    rows = await session.execute(
        select(
            BulkRow.status,
            BulkRow.replayed,
            func.count(),
            func.max(BulkRow.attempts),
            func.max(BulkRow.processed_at),
        )
        .where(BulkRow.job_id == job.id)
        .group_by(BulkRow.status, BulkRow.replayed)
    )
    for status, was_replayed, count, attempts, processed_at in rows.all():
        counts[status] = counts.get(status, 0) + count
        replayed += count if was_replayed else 0
        claimed = claimed or bool(attempts)
        if processed_at is not None:
            moment = processed_at if processed_at.tzinfo else processed_at.replace(tzinfo=dt.UTC)
            finished = moment if finished is None else max(finished, moment)
    pending = counts["pending"]
    # Queued until a worker has claimed a row (rows refused at submission were never claimed).
    status = "done" if pending == 0 else "running" if claimed or counts["issued"] else "queued"
    return Progress(
        status=status,
        total=job.total,
        done=counts["issued"],
        failed=counts["failed"],
        pending=pending,
        replayed=replayed,
        finished_at=finished if pending == 0 else None,
    )


async def row_problems(
    session: AsyncSession, job: BulkJob, *, after: int, limit: int
) -> tuple[list[RowProblem], int | None]:
    """Failed rows after row ``after``, in row order, and the row to continue after (or None)."""
    rows = (
        await session.execute(
            select(BulkRow.row_number, BulkRow.external_id, BulkRow.error)
            .where(BulkRow.job_id == job.id, BulkRow.status == "failed", BulkRow.row_number > after)
            .order_by(BulkRow.row_number)
            .limit(limit + 1)
        )
    ).all()
    items = [_problem(number, external_id, error or {}) for number, external_id, error in rows[:limit]]
    return items, rows[limit - 1][0] if len(rows) > limit else None


def _problem(number: int, external_id: str | None, error: dict[str, Any]) -> RowProblem:
    return RowProblem(
        row=number,
        external_id=external_id,
        type=str(error.get("type", "about:blank")),
        title=str(error.get("title", "Row not issued")),
        detail=error.get("detail"),
        errors=[
            {"pointer": str(e.get("pointer", "")), "detail": str(e.get("detail", ""))}
            for e in error.get("errors") or []
        ],
    )


async def row_badges(
    session: AsyncSession, urls: docs.Urls, job: BulkJob, *, after: int, limit: int
) -> tuple[list[RowBadge], int | None]:
    """Issued rows after row ``after``, in row order, and the row to continue after (or None)."""
    rows = (
        await session.execute(
            select(BulkRow.row_number, BulkRow.external_id, BulkRow.badge_id, BulkRow.replayed)
            .where(BulkRow.job_id == job.id, BulkRow.status == "issued", BulkRow.row_number > after)
            .order_by(BulkRow.row_number)
            .limit(limit + 1)
        )
    ).all()
    items = [
        RowBadge(
            row=number,
            external_id=external_id or "",
            badge_id=badge_id,
            replayed=replayed,
            links={
                "badge": f"/v1/badges/{badge_id}",
                "credential": urls.credential(badge_id),
                "page": urls.page(badge_id),
            },
        )
        for number, external_id, badge_id, replayed in rows[:limit]
        if badge_id is not None  # an issued row always has its badge
    ]
    return items, rows[limit - 1][0] if len(rows) > limit else None
