"""Demo data for development (``make run``): two districts, a user per role, two API clients.

Idempotent (matched by slug / email / client_id) and refused in production: these passwords and
secrets are published in the README.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.hashing import SecretHasher
from services.gateway.models import ApiClient, OrgUnit, Tenant, User
from services.gateway.users.service import assign_role
from shared.auth import SCOPES
from shared.db import utcnow

# The demo districts' ids are fixed, derived from their slugs the same way in every service's
# seed (uuid5 in the demo namespace), so the other services' dev seeds put their demo data in
# the gateway's demo tenant; tests/test_demo_seed.py holds the seeds together.
DEMO_NAMESPACE = uuid.UUID("0d3f6f2e-5a4b-4c8d-9e1f-2a3b4c5d6e7f")
DEMO_TENANT_SLUG = "demo-usd"
OTHER_TENANT_SLUG = "other-district"
DEMO_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, DEMO_TENANT_SLUG))
OTHER_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, OTHER_TENANT_SLUG))

DEMO_PASSWORD = "practicum-demo"  # noqa: S105 - published dev credential
TENANT_SCOPES = sorted(SCOPES)

DEMO_USERS = {
    "admin@demo.test": ("Avery Admin", "tenant_admin"),
    "coordinator@demo.test": ("Casey Coordinator", "coordinator"),
    "assessor@demo.test": ("Alex Assessor", "assessor"),
    "educator@demo.test": ("Erin Educator", "educator"),
    "hr@demo.test": ("Harper HR", "hr"),
}


async def _tenant(session: AsyncSession, slug: str, name: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        # Fixed ids: the other services' dev seeds put their demo data there.
        known = {DEMO_TENANT_SLUG: DEMO_TENANT_ID, OTHER_TENANT_SLUG: OTHER_TENANT_ID}
        tenant = Tenant(id=known.get(slug, str(uuid.uuid4())), slug=slug, name=name, created_at=utcnow())
        session.add(tenant)
        await session.flush()
    return tenant


async def _client(
    session: AsyncSession, hasher: SecretHasher, tenant: Tenant, client_id: str, secret: str, scopes: list[str]
) -> None:
    if await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id)) is None:
        now = utcnow()
        session.add(
            ApiClient(
                id=str(uuid.uuid4()),
                tenant_id=tenant.id,
                client_id=client_id,
                name=f"{client_id} (demo)",
                secret_hash=hasher.hash(secret),
                scopes=scopes,
                enabled=True,
                created_at=now,
                secret_rotated_at=now,
            )
        )


async def seed_demo(session: AsyncSession, *, hasher: SecretHasher) -> Tenant:
    """The demo tenants, people and API clients (idempotent); secrets hashed with ``hasher``."""
    demo = await _tenant(session, "demo-usd", "Demo Unified School District")
    schools = []
    for name in ("Lincoln Elementary School", "Roosevelt Middle School"):
        unit = await session.scalar(select(OrgUnit).where(OrgUnit.tenant_id == demo.id, OrgUnit.name == name))
        if unit is None:
            unit = OrgUnit(id=str(uuid.uuid4()), tenant_id=demo.id, name=name, kind="school", created_at=utcnow())
            session.add(unit)
            await session.flush()
        schools.append(unit)
    password_hash = None
    for index, (email, (display_name, role)) in enumerate(DEMO_USERS.items()):
        if await session.scalar(select(User).where(User.tenant_id == demo.id, User.email == email)) is not None:
            continue
        password_hash = password_hash or hasher.hash(DEMO_PASSWORD)
        user = User(
            id=str(uuid.uuid4()),
            tenant_id=demo.id,
            email=email,
            display_name=display_name,
            org_unit_id=schools[index % 2].id,
            password_hash=password_hash,
            failed_logins=0,
            enabled=True,
            created_at=utcnow(),
        )
        session.add(user)
        await session.flush()
        assign_role(session, tenant_id=demo.id, user_id=user.id, role=role)
    await _client(session, hasher, demo, "demo-lms", "demo-lms-secret", TENANT_SCOPES)
    other = await _tenant(session, "other-district", "Other District")
    await _client(session, hasher, other, "other-lms", "other-lms-secret", TENANT_SCOPES)
    await session.flush()
    return demo
