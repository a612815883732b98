"""Dev-only demo data of the credentials service (``make run``): the demo district's published
four-tier design, whose tiers award the achievements the badges service's seed creates.

The ids are fixed, derived from names the same way in every service's seed (uuid5 in the demo
namespace); they mean nothing outside ``make run``, and tests/test_demo_seed.py holds the
services' seeds together.
"""

from __future__ import annotations

import uuid
from pathlib import Path

DEMO_NAMESPACE = uuid.UUID("0d3f6f2e-5a4b-4c8d-9e1f-2a3b4c5d6e7f")
DEMO_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, "demo-usd"))
DEMO_DESIGN_ID = str(uuid.uuid5(DEMO_NAMESPACE, "design:formative-assessment"))
DEMO_ACHIEVEMENT_IDS = {
    tier: str(uuid.uuid5(DEMO_NAMESPACE, f"achievement:formative-assessment:{tier}"))
    for tier in ("learning", "implementation", "impact", "sharing")
}
DEMO_DESIGN = Path(__file__).parent / "formative-assessment.design.json"
