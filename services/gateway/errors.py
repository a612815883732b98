"""Problems the gateway itself answers (its upstream failures use the shared 502/503/504)."""

from __future__ import annotations

from shared.problems import NotFound


class NoRoute(NotFound):
    """No service owns the requested path."""

    slug = "gateway/no-route"
