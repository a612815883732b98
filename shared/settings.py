"""Settings base shared by every service: one subclass per service, one env prefix each."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var"

# Values that show a secret was copied from an example and never set for real.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "placeholder", "xxx"})


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    production = "production"


class ServiceSettings(BaseSettings):
    """What every Practicum process reads from its environment.

    Subclasses set ``service_name`` and an ``env_prefix`` (``CATALOG_``, ``GATEWAY_``…), so
    ``CATALOG_DATABASE_URL`` configures the catalog and nothing else.
    """

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    environment: Environment = Environment.dev
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 means the service's default port")
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means the embedded SQLite file under DATA_DIR",
    )
    data_dir: Path = DEFAULT_DATA_DIR
    # Where the gateway's token keys live (<kid>.pem private, <kid>.pub.pem public); services
    # read the public halves. Empty means <DATA_DIR>/gateway-keys.
    gateway_keys_dir: Path | None = None
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_echo: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    # Readiness: how long a DB ping may take before the service reports itself not ready.
    readiness_timeout_s: float = Field(default=2.0, gt=0)
    # Larger request bodies are refused with 413 before they are read (CASE packages, uploads).
    max_request_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    # Outbox dispatcher (see shared/outbox.py and docs/decisions/0004-outbox.md).
    outbox_enabled: bool = True
    outbox_poll_interval_s: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_backoff_base_s: float = Field(default=1.0, gt=0)
    outbox_backoff_max_s: float = Field(default=300.0, gt=0)
    outbox_lease_s: float = Field(default=60.0, gt=0)
    # Where this service's events go: JSON object {"event.type.prefix": "http://host:port"}.
    outbox_subscribers: dict[str, str] = Field(default_factory=dict)
    outbox_delivery_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> ServiceSettings:
        # A dispatcher only starts a delivery that can finish inside its lease.
        if self.outbox_lease_s <= self.outbox_delivery_timeout_s:
            raise ValueError("outbox_lease_s must be longer than outbox_delivery_timeout_s")
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        if not self.port:
            self.port = self.default_port
        if self.gateway_keys_dir is None:
            self.gateway_keys_dir = self.data_dir / "gateway-keys"
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / (self.service_name + '.sqlite3')}"
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def keys_dir(self) -> Path:
        assert self.gateway_keys_dir is not None  # filled by the validator
        return self.gateway_keys_dir

    @property
    def db_schema(self) -> str:
        """The PostgreSQL schema this service owns (ignored on SQLite: one file per service)."""
        return self.service_name


def require_real_secret(value: SecretStr | None, *, name: str, environment: Environment) -> None:
    """Refuse placeholder secrets outside development: production must be configured on purpose."""
    if environment is Environment.dev or environment is Environment.test:
        return
    if value is None or value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} must be set to a real secret when ENVIRONMENT={environment.value}")
