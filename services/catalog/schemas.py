"""Wire contract of the catalog service; other services may import these models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from shared.events import EventEnvelope, InboxReceipt
from shared.health import Liveness, Readiness
from shared.outbox_ops import OutboxEventRead, OutboxSummary

__all__ = ["EventEnvelope", "InboxReceipt", "Liveness", "OutboxEventRead", "OutboxSummary", "Readiness"]


# --- competency frameworks (CASE) -------------------------------------------------------------


class FrameworkSummary(BaseModel):
    id: str
    identifier: str = Field(description="the CFDocument GUID")
    uri: str
    title: str
    creator: str
    last_change: str
    items: int
    imported_at: dt.datetime
    updated_at: dt.datetime


class ImportReport(FrameworkSummary):
    created: bool = Field(description="false when an existing framework (same CFDocument) was updated")
    associations: int


class ItemRead(BaseModel):
    id: str
    identifier: str
    uri: str
    human_coding_scheme: str | None
    full_statement: str
    item_type: str | None
    last_change: str
    parent_id: str | None


class TreeNode(ItemRead):
    children: list[TreeNode]


class FrameworkRead(FrameworkSummary):
    document: dict[str, Any]
    tree: list[TreeNode]


class AssociationRead(BaseModel):
    identifier: str
    association_type: str
    origin_identifier: str
    destination_identifier: str


class ItemDetail(ItemRead):
    children: list[ItemRead]
    associations: list[AssociationRead]


class FrameworkFetch(BaseModel):
    url: str = Field(max_length=2000, pattern=r"^https?://", description="where to fetch the CFPackage from")
