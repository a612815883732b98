"""Structured JSON logging: one line per event, with ``service`` and the current ``request_id``.

The request id lives in a context variable set by the request middleware, so every log line
written while a request is handled carries it, whichever module writes it. Personal data
(emails, external ids, query strings) is never put in log lines by this module.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
tenant_var: ContextVar[str | None] = ContextVar("tenant", default=None)

# Attributes every LogRecord has; anything else passed via ``extra=`` is emitted as a field.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        tenant = tenant_var.get()
        if tenant:
            entry["tenant"] = tenant
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Readable lines for a developer's terminal, still carrying the request id."""

    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = request_id_var.get()
        return f"{line} request_id={request_id}" if request_id else line


def configure_logging(*, service: str, level: str = "INFO", json_lines: bool = True) -> None:
    """Route the root logger (and uvicorn's) to stdout in one format.

    Uvicorn's own access log is silenced: the request middleware writes a richer access line.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service) if json_lines else TextFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # One access line per request is ours; httpx's per-call INFO lines would double it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines carry SQL parameters (emails, external ids): never, at any level.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
