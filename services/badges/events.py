"""The events the badges service receives, and their handlers (which live in the areas).

Both award handlers need the app (its keys, public base URL and settings), so they are bound to it
by ``handlers(app)``; ``EVENT_HANDLERS`` holds those that need nothing (none today).
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from services.badges.issuing import awards
from services.credentials.schemas import AwardGranted, AwardRevoked
from shared.events import EventHandler, handle

EVENT_HANDLERS: dict[str, EventHandler] = {}


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    """The handlers bound to ``app``."""
    return dict(
        [
            handle(AwardGranted, partial(awards.on_award_granted, app)),
            handle(AwardRevoked, partial(awards.on_award_revoked, app)),
        ]
    )
