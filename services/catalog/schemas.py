"""Wire contract of the catalog service; other services may import these models."""

from __future__ import annotations

from shared.events import EventEnvelope, InboxReceipt
from shared.health import Liveness, Readiness
from shared.outbox_ops import OutboxEventRead, OutboxSummary

__all__ = ["EventEnvelope", "InboxReceipt", "Liveness", "OutboxEventRead", "OutboxSummary", "Readiness"]
