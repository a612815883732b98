"""Configuration of the credentials service; every variable starts with ``CREDENTIALS_``."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CredentialsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CREDENTIALS_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "credentials"
    default_port: ClassVar[int] = 8002

    # Dev only: the demo district gets the published 4-tier demo design.
    dev_seed: bool = True
