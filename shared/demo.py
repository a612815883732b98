"""Fixed identities of the dev-only demo districts, so every service's dev seed agrees on them.

Dev seeds refuse to run in production; these ids mean nothing outside `make run`.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("0d3f6f2e-5a4b-4c8d-9e1f-2a3b4c5d6e7f")

DEMO_TENANT_SLUG = "demo-usd"
OTHER_TENANT_SLUG = "other-district"
DEMO_TENANT_ID = str(uuid.uuid5(_NAMESPACE, DEMO_TENANT_SLUG))
OTHER_TENANT_ID = str(uuid.uuid5(_NAMESPACE, OTHER_TENANT_SLUG))


def demo_id(name: str) -> str:
    """A fixed id for a named demo object, the same in every service's dev seed."""
    return str(uuid.uuid5(_NAMESPACE, name))


# The demo district's issuer and the achievements its demo micro-credential's tiers award
# (badges seeds them; credentials' demo design names them).
DEMO_ISSUER_ID = demo_id("issuer:demo-usd")
DEMO_DESIGN_ID = demo_id("design:formative-assessment")
DEMO_ACHIEVEMENT_IDS = {
    tier: demo_id(f"achievement:formative-assessment:{tier}")
    for tier in ("learning", "implementation", "impact", "sharing")
}
