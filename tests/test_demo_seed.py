"""The services' dev seeds agree on the demo district: each service keeps its own demo ids (no
business nouns in shared/), so this test is what holds them together."""

from __future__ import annotations

from services.badges import seed as badges_seed
from services.catalog import seed as catalog_seed
from services.credentials import seed as credentials_seed
from services.gateway import seed as gateway_seed


def test_every_seed_puts_its_demo_data_in_the_gateways_demo_tenant() -> None:
    tenant = gateway_seed.DEMO_TENANT_ID
    assert tenant != gateway_seed.OTHER_TENANT_ID
    assert tenant == catalog_seed.DEMO_TENANT_ID
    assert tenant == credentials_seed.DEMO_TENANT_ID
    assert tenant == badges_seed.DEMO_TENANT_ID


def test_the_demo_design_awards_the_achievements_the_badges_seed_creates() -> None:
    assert credentials_seed.DEMO_ACHIEVEMENT_IDS == badges_seed.DEMO_ACHIEVEMENT_IDS
    assert len(set(badges_seed.DEMO_ACHIEVEMENT_IDS.values())) == 4
    assert badges_seed.DEMO_ISSUER_ID not in badges_seed.DEMO_ACHIEVEMENT_IDS.values()
