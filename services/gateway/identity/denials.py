"""Denied access (401/403) in the audit log, without letting hostile traffic flood it.

A denial happens on the path of possibly hostile traffic: a scanner with a stolen, expired token
can send thousands a second. So repeats of the same denial (same actor, address, status and
service) within a window are folded into a count carried by the next record written for it, and
at most a few writes run at once — beyond that, denials are folded too. Nothing a caller sends
is written as-is except the path, truncated; query strings (which may carry personal data) never.

The record is written before the denial is answered, so once a client has its 401/403 the audit
log holds it (or the count it was folded into); only denied requests pay for that write.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Scope

from services.gateway.audit import service as audit_log
from services.gateway.identity.tokens import AccessClaims

logger = logging.getLogger("practicum.gateway.denials")

_MAX_PATH = 200


@dataclass
class _Fold:
    until: float
    suppressed: int = 0


@dataclass
class Denial:
    """One denied request, described without personal data."""

    status: int
    actor: str  # "client:<id>" / "user:<id>" when the token was valid, else "anonymous"
    tenant_id: str | None
    address: str
    method: str
    path: str
    reason: str
    service: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, scope: Scope, status: int, claims: AccessClaims | None, reason: str, service: str | None = None
    ) -> Denial:
        """The denial of the request in ``scope``; the actor only when its token was valid."""
        client = scope.get("client")
        return cls(
            status=status,
            actor=claims.subject if claims is not None else "anonymous",
            tenant_id=claims.tenant_id if claims is not None else None,
            address=client[0] if client else "unknown",
            method=scope["method"],
            path=scope["path"],
            reason=reason,
            service=service,
        )

    @property
    def key(self) -> tuple[str, str | None, str, int, str | None]:
        return (self.actor, self.tenant_id, self.address, self.status, self.service)

    @property
    def action(self) -> str:
        return "access.unauthenticated" if self.status == 401 else "access.forbidden"

    def detail(self, suppressed: int) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "status": self.status,
            "method": self.method[:16],
            "path": self.path[:_MAX_PATH],
            "address": self.address,
            "reason": self.reason[:200],
            **self.extra,
        }
        if self.service:
            detail["service"] = self.service
        if suppressed:
            detail["repeats_folded"] = suppressed
        return detail


class DenialLog:
    """Folds repeated denials; writes the rest to the audit log in their own transaction."""

    def __init__(self, *, window_s: float, max_keys: int = 10_000, max_concurrent_writes: int = 4) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self.max_concurrent_writes = max_concurrent_writes
        self._folds: dict[tuple[str, str | None, str, int, str | None], _Fold] = {}
        self._writing = 0

    def admit(self, denial: Denial) -> int | None:
        """How many repeats to report with this denial if it should be written now, else None."""
        now = time.monotonic()
        fold = self._folds.get(denial.key)
        if fold is not None and now < fold.until:
            fold.suppressed += 1
            return None
        if fold is None and len(self._folds) >= self.max_keys:
            self._forget_expired(now)
            if len(self._folds) >= self.max_keys:
                # Under a flood of distinct keys, stop writing new ones rather than grow.
                return None
        suppressed = fold.suppressed if fold is not None else 0
        self._folds[denial.key] = _Fold(until=now + self.window_s)
        return suppressed

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, fold in self._folds.items() if fold.until <= now and not fold.suppressed]:
            del self._folds[key]

    async def write(self, session: AsyncSession, denial: Denial, suppressed: int) -> None:
        """Append the denial in the caller's transaction (used where a session is at hand)."""
        await audit_log.record(
            session,
            action=denial.action,
            outcome="denied",
            actor=denial.actor,
            tenant_id=denial.tenant_id,
            detail=denial.detail(suppressed),
        )

    async def record(self, maker: async_sessionmaker[AsyncSession], denial: Denial) -> None:
        """Fold or write one denial in a transaction of its own; never raises."""
        suppressed = self.admit(denial)
        if suppressed is None:
            return
        if self._writing >= self.max_concurrent_writes:
            self._folds[denial.key].suppressed += suppressed + 1
            return
        self._writing += 1
        try:
            async with maker() as session, session.begin():
                await self.write(session, denial, suppressed)
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("could not record a denied request", extra={"error": type(exc).__name__})
        finally:
            self._writing -= 1
