"""Problems the gateway itself answers (its upstream failures use the shared 502/503/504)."""

from __future__ import annotations

import math

from shared.problems import Problem


class TooManyRequests(Problem):
    """A rate limit ran out; ``Retry-After`` says when the next token is due."""

    status = 429
    title = "Too Many Requests"
    slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail, retry_after=max(1, math.ceil(retry_after)))
        self.retry_after = max(1, math.ceil(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
