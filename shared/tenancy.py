"""Tenant scoping: every query a request makes is limited to the caller's tenant.

An id from another tenant answers 404, exactly like a missing id, so ids never reveal what
exists elsewhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.problems import NotFound

RowT = TypeVar("RowT")


def in_tenant(statement: Select[Any], model: Any, tenant_id: str) -> Select[Any]:
    """Add the tenant condition to a query on a tenant-owned model."""
    return statement.where(model.tenant_id == tenant_id)


async def get_in_tenant(session: AsyncSession, model: type[RowT], row_id: str, tenant_id: str, *, noun: str) -> RowT:
    """The row with this id in this tenant, else 404 (whether it is missing or someone else's)."""
    row = await session.get(model, row_id)
    if row is None or getattr(row, "tenant_id", None) != tenant_id:
        raise NotFound(f"no {noun} {row_id}")
    return row
