"""A badges app with a caller that may issue, and helpers to create issuers and achievements."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.badges.issuing import service as issuing
from tests.conftest import AppFactory
from tests.support import asgi_client, identity_headers

ISSUER = {
    "name": "Demo Unified School District",
    "url": "https://demo-usd.example",
    "email": "pl@demo-usd.example",
    "description": "Professional learning office",
    "address": {"address_locality": "Springfield", "address_country": "US"},
}

ACHIEVEMENT = {
    "name": "Formative Assessment — Tier 1",
    "description": "Shows evidence of planning formative assessment.",
    "criteria": {"narrative": "Submit a **lesson plan** and a reflection."},
    "achievement_type": "MicroCredential",
    "alignments": [
        {
            "target_name": "Uses formative assessment",
            "target_url": "https://case.example/uri/1b1f1c8e-0000-4000-8000-000000000001",
            "target_code": "1b1f1c8e-0000-4000-8000-000000000001",
            "target_framework": "Practicum Educator Competencies",
        }
    ],
    "tags": ["assessment", "tier-1"],
    "credits_available": 1.5,
    "human_code": "FA-1",
    "result_descriptions": [
        {
            "key": "plan",
            "name": "Lesson plan",
            "levels": [
                {"key": "developing", "name": "Developing"},
                {"key": "proficient", "name": "Proficient"},
            ],
            "required_level": "proficient",
        }
    ],
}


@dataclass
class Badges:
    app: FastAPI
    client: httpx.AsyncClient
    keys_dir: Path

    def as_(self, *, tenant: str = "tenant-a", roles: frozenset[str] = frozenset({"coordinator"})) -> dict[str, str]:
        return identity_headers(self.keys_dir, "badges", roles=roles, tenant_id=tenant)

    async def issuer(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post("/v1/issuers", json={**ISSUER, **overrides}, headers=self.as_())
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def achievement(self, issuer_id: str, **overrides: Any) -> dict[str, Any]:
        body = {**ACHIEVEMENT, "issuer_id": issuer_id, **overrides}
        response = await self.client.post("/v1/achievements", json=body, headers=self.as_())
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def issue(self, achievement_id: str, **overrides: Any) -> httpx.Response:
        body = {
            "achievement_id": achievement_id,
            "recipient": {"email": " Educator@Demo.Test ", "name": "Ed Educator"},
            "results": [{"criterion": "plan", "level": "proficient"}],
            **overrides,
        }
        return await self.client.post("/v1/badges", json=body, headers=self.as_())


@pytest.fixture
async def badges(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Badges]:
    app = await make_app("badges")
    async with asgi_client(app) as client:
        yield Badges(app=app, client=client, keys_dir=keys_dir)


@contextlib.contextmanager
def issuing_as_of(moment: dt.datetime) -> Iterator[None]:
    """Badges issued inside are issued as if at ``moment`` (issue time, proof, ``validFrom``):
    the one way to a badge whose validity has ended, since issuing refuses a ``valid_until``
    already past. Every app of the test process sees it (live servers run in it too)."""
    original = issuing.utcnow
    issuing.utcnow = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        issuing.utcnow = original  # type: ignore[assignment]
