"""Configuration of the catalog service; every variable starts with ``CATALOG_``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "catalog"
    default_port: ClassVar[int] = 8001

    # Importing a CASE package from a URL an administrator gives (SSRF guard: shared/safefetch.py).
    case_fetch_allow_private: bool = Field(
        default=False, description="let CASE imports fetch from loopback/private addresses (on-premises servers)"
    )
    case_fetch_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    case_fetch_timeout_s: float = Field(default=20.0, gt=0)
    # session.attended goes to the credentials service (PD minutes); the default is the dev port.
    outbox_subscribers: dict[str, str] = Field(default_factory=lambda: {"session.": "http://127.0.0.1:8002"})
    # Where searches are answered (ADR 0016): "memory", an index per tenant in this process kept
    # in step with the database; "database", PostgreSQL's or SQLite's full-text index directly
    # (no memory held, slower for large catalogs). Both give the same answers.
    search_engine: Literal["memory", "database"] = "memory"
    # With the memory engine: read every tenant's index in the background when the service
    # starts, so that no tenant's first search waits for it.
    search_warm_on_start: bool = True
    # Where the credentials service listens: a micro-credential offering's design is checked
    # there, on the caller's behalf, before it is kept (ADR 0013).
    credentials_url: str = "http://127.0.0.1:8002"
    credentials_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Dev only: load the demo competency framework for the demo district on start.
    dev_seed: bool = True
