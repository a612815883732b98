"""Configuration of the credentials service; every variable starts with ``CREDENTIALS_``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CredentialsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CREDENTIALS_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "credentials"
    default_port: ClassVar[int] = 8002

    # award.* events go to the badges service (it issues and revokes the tier badges).
    outbox_subscribers: dict[str, str] = Field(default_factory=lambda: {"award.": "http://127.0.0.1:8003"})
    # The catalog, asked on the caller's behalf whether the catalog ids a design or a pursuit
    # names exist (services/credentials/references.py); a short timeout: a person is waiting.
    catalog_url: str = "http://127.0.0.1:8001"
    catalog_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Evidence files (services/credentials/evidence/storage.py); default: <DATA_DIR>/evidence.
    evidence_root: Path | None = None
    # Dev only: the demo district gets the published 4-tier demo design.
    dev_seed: bool = True
    # How often expired student-data files are deleted (services/credentials/evidence/retention.py); 0: never.
    retention_interval_s: float = Field(default=3600.0, ge=0)

    def evidence_dir(self) -> Path:
        return self.evidence_root or self.data_dir / "evidence"
