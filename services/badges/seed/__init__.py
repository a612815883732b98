"""Dev-only demo data of the badges service (``make run``): the demo district's issuer and the
achievements its demo micro-credential's tiers award.

The ids are fixed, derived from names the same way in every service's seed (uuid5 in the demo
namespace), so the credentials service's demo design names these achievements; they mean
nothing outside ``make run``, and tests/test_demo_seed.py holds the services' seeds together.
"""

from __future__ import annotations

import uuid
from pathlib import Path

DEMO_NAMESPACE = uuid.UUID("0d3f6f2e-5a4b-4c8d-9e1f-2a3b4c5d6e7f")
DEMO_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, "demo-usd"))
DEMO_ISSUER_ID = str(uuid.uuid5(DEMO_NAMESPACE, "issuer:demo-usd"))
DEMO_ACHIEVEMENT_IDS = {
    tier: str(uuid.uuid5(DEMO_NAMESPACE, f"achievement:formative-assessment:{tier}"))
    for tier in ("learning", "implementation", "impact", "sharing")
}
DEMO_ACHIEVEMENTS = Path(__file__).parent / "demo-achievements.json"
