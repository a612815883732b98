"""Configuration of the badges service; every variable starts with ``BADGES_``."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class BadgesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BADGES_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "badges"
    default_port: ClassVar[int] = 8003
