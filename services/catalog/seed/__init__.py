"""Dev-only demo data of the catalog (``make run``): the demo district's competency framework.

The demo district's id is fixed, derived from its slug the same way in every service's seed
(uuid5 in the demo namespace), so the gateway's demo tenant finds its data here; the ids mean
nothing outside ``make run``, and tests/test_demo_seed.py holds the services' seeds together.
"""

from __future__ import annotations

import uuid
from pathlib import Path

DEMO_NAMESPACE = uuid.UUID("0d3f6f2e-5a4b-4c8d-9e1f-2a3b4c5d6e7f")
DEMO_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, "demo-usd"))
DEMO_FRAMEWORK = Path(__file__).parent / "educator-competencies.case.json"
