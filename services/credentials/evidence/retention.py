"""Student-data retention: evidence files flagged as containing student information are deleted
once their submission was decided longer ago than the tenant's ``student_data_retention_days``.

The file goes first, then the row is marked (``storage_key`` cleared, ``purged_at`` set; size
and SHA-256 stay as proof of what was there). A crash in between leaves a row naming a missing
file, which the next run marks; the other order could leave student data on disk that nothing
points to any more. ``run_periodically`` runs the purge from the app's lifespan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credentials.evidence.storage import EvidenceStore
from services.credentials.models import EvidenceItem, Submission, TenantPolicy
from services.credentials.schemas import TenantPolicyWrite
from shared.db import utcnow

logger = logging.getLogger("practicum.credentials.retention")

# Decided for good: a recommendation still waits for the coordinator's grant.
FINAL_STATES = ("passed", "returned")
BATCH = 200


def _expired(tenant_id: str, cutoff: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        Submission.tenant_id == tenant_id,
        Submission.state.in_(FINAL_STATES),
        Submission.decided_at < cutoff,
        EvidenceItem.contains_student_information.is_(True),
        EvidenceItem.storage_key.is_not(None),
    ]


async def purge_student_data(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    *,
    now: dt.datetime | None = None,
    batch_size: int = BATCH,
) -> int:
    """Delete every student-data file past its tenant's retention; returns how many."""
    now = now or utcnow()
    default_days = TenantPolicyWrite().student_data_retention_days
    async with sessionmaker() as session:
        tenants = list(
            await session.scalars(
                select(Submission.tenant_id)
                .join(EvidenceItem, EvidenceItem.submission_id == Submission.id)
                .where(
                    Submission.state.in_(FINAL_STATES),
                    EvidenceItem.contains_student_information.is_(True),
                    EvidenceItem.storage_key.is_not(None),
                )
                .distinct()
            )
        )
        days = dict(
            (
                await session.execute(
                    select(TenantPolicy.tenant_id, TenantPolicy.student_data_retention_days).where(
                        TenantPolicy.tenant_id.in_(tenants or ["-"])
                    )
                )
            ).all()
        )
    purged = 0
    for tenant_id in sorted(tenants):
        cutoff = now - dt.timedelta(days=days.get(tenant_id, default_days))
        while True:
            async with sessionmaker() as session, session.begin():
                items = list(
                    await session.scalars(
                        select(EvidenceItem)
                        .join(Submission, Submission.id == EvidenceItem.submission_id)
                        .where(*_expired(tenant_id, cutoff))
                        .order_by(EvidenceItem.id)
                        .limit(batch_size)
                    )
                )
                for item in items:
                    assert item.storage_key is not None
                    await store.delete(item.storage_key)  # False when already gone: mark it all the same
                    item.storage_key, item.purged_at = None, now
                await session.flush()
            purged += len(items)
            if len(items) < batch_size:
                break
    if purged:
        logger.info("student-data retention: deleted %d evidence file(s)", purged)
    return purged


async def run_periodically(
    sessionmaker: async_sessionmaker[AsyncSession], store: EvidenceStore, interval_s: float
) -> None:
    """Purge every ``interval_s`` seconds (the first time one interval after start) until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await purge_student_data(sessionmaker, store)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("student-data retention run failed; trying again next interval")
