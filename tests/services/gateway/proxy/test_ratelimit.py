"""Rate limits: token buckets in-process and in the real Redis (shared by gateway replicas)."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.gateway.proxy.ratelimit import Buckets, MemoryBuckets, Rate, RedisBuckets
from tests.conftest import AppFactory
from tests.support import LiveServer, token_service

REDIS_URL = os.environ.get("TEST_REDIS_URL", "").strip()
KINDS = ["memory", "redis"] if REDIS_URL else ["memory"]


@pytest.fixture(params=KINDS)
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    made: Buckets = MemoryBuckets() if request.param == "memory" else RedisBuckets(REDIS_URL)
    yield made
    await made.aclose()


async def test_the_bucket_trips_at_the_configured_rate(buckets: Buckets) -> None:
    key = f"test:{uuid.uuid4()}"
    rate = Rate(per_second=4.0, burst=3)
    assert [await buckets.take(key, rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await buckets.take(key, rate)
    assert 0.1 < wait <= 0.26  # one token comes back every 1/4 s
    await asyncio.sleep(wait + 0.05)
    assert await buckets.take(key, rate) == 0.0
    assert await buckets.take(f"test:{uuid.uuid4()}", rate) == 0.0, "other keys have their own bucket"


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL (CI sets it)")
async def test_replicas_share_one_limit_through_redis() -> None:
    first, second = RedisBuckets(REDIS_URL), RedisBuckets(REDIS_URL)
    key = f"test:{uuid.uuid4()}"
    rate = Rate(per_second=0.5, burst=4)
    try:
        taken = [await (first if i % 2 else second).take(key, rate) for i in range(4)]
        assert taken == [0.0] * 4
        assert await first.take(key, rate) > 1.0
        assert await second.take(key, rate) > 1.0
    finally:
        await first.aclose()
        await second.aclose()


@pytest.fixture(params=KINDS)
def redis_url(request: pytest.FixtureRequest) -> str:
    return REDIS_URL if request.param == "redis" else ""


async def test_token_endpoint_is_limited_per_address(make_app: AppFactory, backend: str, redis_url: str) -> None:
    # A fresh limit key space per run: the address is the same loopback every time.
    app = await make_app("gateway", redis_url=redis_url, rate_limit_auth_per_min=6, rate_limit_auth_burst=3)
    if redis_url:
        await _forget_limits(redis_url)
    live = await LiveServer(app).start()
    auth = "Basic " + base64.b64encode(b"nobody:nothing").decode()
    try:
        async with httpx.AsyncClient(base_url=live.url) as client:
            answers = [
                await client.post(
                    "/oauth/token",
                    content="grant_type=client_credentials",
                    headers={"authorization": auth, "content-type": "application/x-www-form-urlencoded"},
                )
                for _ in range(4)
            ]
    finally:
        await live.stop()
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    limited = answers[-1]
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert limited.json()["status"] == 429


async def test_api_clients_are_limited_through_the_gateway(
    make_app: AppFactory, backend: str, keys_dir: Path, redis_url: str
) -> None:
    upstream = await LiveServer(await make_app("catalog")).start()
    app = await make_app(
        "gateway",
        catalog_url=upstream.url,
        redis_url=redis_url,
        rate_limit_client_per_s=1,
        rate_limit_client_burst=5,
    )
    live = await LiveServer(app).start()
    client_id = f"lms-{uuid.uuid4().hex[:8]}"
    token = token_service(keys_dir).issue(
        subject=f"client:{client_id}", tenant_id="t", kind="client", scopes=frozenset(), client_id=client_id
    )
    try:
        async with httpx.AsyncClient(base_url=live.url, headers={"authorization": f"Bearer {token}"}) as client:
            statuses = [(await client.get("/v1/ops/catalog/whoami")).status_code for _ in range(7)]
            limited = await client.get("/v1/ops/catalog/whoami")
    finally:
        await live.stop()
        await upstream.stop()
    assert statuses == [200] * 5 + [429, 429]
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["title"] == "Too Many Requests"


async def _forget_limits(url: str, pattern: str = "practicum:ratelimit:auth-ip:*") -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(pattern)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_the_public_verifier_is_limited_per_address(make_app: AppFactory, backend: str, redis_url: str) -> None:
    upstream = await LiveServer(await make_app("badges")).start()
    app = await make_app(
        "gateway", badges_url=upstream.url, redis_url=redis_url, rate_limit_verify_per_min=6, rate_limit_verify_burst=3
    )
    if redis_url:
        await _forget_limits(redis_url, "practicum:ratelimit:address:*")
    live = await LiveServer(app).start()
    try:
        async with httpx.AsyncClient(base_url=live.url) as client:
            body = {"credential": "not.a.jws"}
            statuses = [(await client.post("/v1/verify", json=body)).status_code for _ in range(4)]
            other_route = await client.get("/ob/issuers/00000000-0000-4000-8000-000000000000")
    finally:
        await live.stop()
        await upstream.stop()
    assert statuses == [200, 200, 200, 429]
    assert other_route.status_code == 404, "only the verifier has this limit"
