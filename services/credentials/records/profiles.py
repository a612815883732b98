"""Educator profiles (school, HR and state ids, from the SIS) and the tenant policy (licensure
cycle, student-data retention) that reports, records and exports rest on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.models import EducatorProfile, TenantPolicy
from services.credentials.schemas import EducatorProfileRead, EducatorProfileWrite, TenantPolicyRead, TenantPolicyWrite
from shared.db import utcnow


def profile_read(row: EducatorProfile) -> EducatorProfileRead:
    return EducatorProfileRead(
        educator_id=row.educator_id,
        external_id=row.external_id,
        state_id=row.state_id,
        school_id=row.school_id,
        school_name=row.school_name,
        display_name=row.display_name,
        updated_at=row.updated_at,
    )


async def save_profile(
    session: AsyncSession, *, tenant_id: str, educator_id: str, body: EducatorProfileWrite
) -> EducatorProfile:
    """Create or replace an educator's profile (the SIS sends the whole of it each time)."""
    row = await session.get(EducatorProfile, (tenant_id, educator_id))
    if row is None:
        row = EducatorProfile(tenant_id=tenant_id, educator_id=educator_id)
        session.add(row)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def policy(session: AsyncSession, tenant_id: str) -> TenantPolicyRead:
    """The tenant's policy, or the defaults when it never set one."""
    row = await session.get(TenantPolicy, tenant_id)
    if row is None:
        return TenantPolicyRead(**TenantPolicyWrite().model_dump(), updated_at=None)
    return TenantPolicyRead(
        licensure_cycle_start_month=row.licensure_cycle_start_month,
        licensure_cycle_start_day=row.licensure_cycle_start_day,
        licensure_cycle_years=row.licensure_cycle_years,
        student_data_retention_days=row.student_data_retention_days,
        updated_at=row.updated_at,
    )


async def save_policy(session: AsyncSession, tenant_id: str, body: TenantPolicyWrite) -> TenantPolicyRead:
    row = await session.get(TenantPolicy, tenant_id)
    if row is None:
        row = TenantPolicy(tenant_id=tenant_id)
        session.add(row)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return await policy(session, tenant_id)
