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
