"""HTTP routes of the catalog service: parse, authorise, call ``service``, return a schema."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.models import OutboxEvent
from shared.app import get_session
from shared.outbox_ops import outbox_ops_router

router = APIRouter()
router.include_router(outbox_ops_router(service="catalog", model=OutboxEvent, session_dependency=get_session))
