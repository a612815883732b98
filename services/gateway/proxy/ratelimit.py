"""Token-bucket rate limits at the gateway: per API client, and per IP on the auth endpoints.

In-process by default (one gateway); with ``GATEWAY_REDIS_URL`` the buckets live in Redis, so
several gateway replicas share one limit. Each check is atomic: a Lua script in Redis, plain
synchronous code in-process (no await between read and write).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import RedisError

from services.gateway.errors import TooManyRequests

logger = logging.getLogger("practicum.gateway.ratelimit")


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


class Buckets(Protocol):
    async def take(self, key: str, rate: Rate) -> float:
        """Take one token; 0 when allowed, else the seconds until one is available."""
        ...

    async def aclose(self) -> None: ...


class MemoryBuckets:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    async def take(self, key: str, rate: Rate) -> float:
        now = time.monotonic()
        tokens, updated = self._buckets.get(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - updated) * rate.per_second)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return 0.0
        self._store(key, tokens, now)
        return (1.0 - tokens) / rate.per_second

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._buckets.pop(next(iter(self._buckets)))  # forget the oldest key, never grow unbounded
        self._buckets[key] = (tokens, now)

    async def aclose(self) -> None:
        self._buckets.clear()


# KEYS[1] bucket; ARGV: rate per second, burst, now (s). Returns the wait in ms (0 = allowed).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisBuckets:
    def __init__(self, url: str, *, prefix: str = "practicum:ratelimit:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._take = self._redis.register_script(_TAKE)
        self._prefix = prefix

    async def take(self, key: str, rate: Rate) -> float:
        # Redis's clock, not ours: replicas on different machines agree on "now".
        seconds, micros = await self._redis.time()
        wait_ms = await self._take(
            keys=[self._prefix + key], args=[rate.per_second, rate.burst, seconds + micros / 1e6]
        )
        return int(wait_ms) / 1000

    async def aclose(self) -> None:
        await self._redis.aclose()


def buckets_for(redis_url: str) -> Buckets:
    return RedisBuckets(redis_url) if redis_url else MemoryBuckets()


async def enforce(buckets: Buckets, key: str, rate: Rate, *, what: str) -> None:
    try:
        wait = await buckets.take(key, rate)
    except (OSError, RedisError) as exc:
        # A limiter outage must not become an API outage: let the request through, loudly.
        logger.warning("rate limiter unavailable; request allowed", extra={"error": type(exc).__name__})
        return
    if wait > 0:
        raise TooManyRequests(f"rate limit for {what} exceeded; retry later", retry_after=wait)
