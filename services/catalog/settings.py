"""Configuration of the catalog service; every variable starts with ``CATALOG_``."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "catalog"
    default_port: ClassVar[int] = 8001
