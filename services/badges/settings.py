"""Configuration of the badges service; every variable starts with ``BADGES_``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, require_real_secret

# Verifiers reject shorter Bitstring status lists (herd privacy: one index among 131,072).
MIN_STATUS_LIST_SIZE = 131_072


class BadgesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BADGES_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "badges"
    default_port: ClassVar[int] = 8003

    # badge.* events go back to the credentials service (it records each award's badge).
    outbox_subscribers: dict[str, str] = Field(default_factory=lambda: {"badge.": "http://127.0.0.1:8002"})
    # Dev only: the demo district's issuer and the achievements of its demo micro-credential.
    dev_seed: bool = True

    # Every id inside a credential lives under this base, reached through the gateway. The
    # gateway's own PUBLIC_BASE_URL is accepted too, so one variable configures both.
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("BADGES_PUBLIC_BASE_URL", "PUBLIC_BASE_URL"),
    )
    # Key-encryption key (32 bytes, base64url) that wraps every issuer's private keys with
    # AES-GCM. Dev/test without one: a random KEK is kept in <DATA_DIR>/badges-kek. Production
    # refuses to start without a real one.
    key_encryption_key: SecretStr | None = None
    status_list_size: int = Field(default=MIN_STATUS_LIST_SIZE, ge=MIN_STATUS_LIST_SIZE, le=8 * 1024 * 1024)
    # A list is closed for new credentials once this share of its indexes is taken, so random
    # allocation keeps finding a free index in a few tries.
    status_list_fill: float = Field(default=0.5, gt=0, le=0.9)
    image_max_bytes: int = Field(default=512 * 1024, ge=1024)
    image_max_pixels: int = Field(default=2048, ge=64, description="largest width or height of an uploaded image")
    # What anyone may send to the public verifier, and what it may fetch for a foreign credential.
    verify_max_bytes: int = Field(default=256 * 1024, ge=1024)
    # Largest baked badge image (PNG or SVG) uploaded to the verifier to be unbaked.
    verify_upload_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    verify_fetch_timeout_s: float = Field(default=5.0, gt=0)
    verify_allow_private: bool = Field(
        default=False, description="let the verifier fetch from loopback/private addresses (tests, on-premises)"
    )
    # Largest credential (serialized JSON) accepted for issuing or verifying: canonicalization
    # work grows with it, so it is bounded before any JSON-LD processing starts.
    max_credential_bytes: int = Field(default=64 * 1024, ge=4096)

    # Bulk issuance (services/badges/bulk/): rows per job, and the worker every replica runs.
    bulk_max_rows: int = Field(default=10_000, ge=1, le=100_000)
    bulk_worker_enabled: bool = True
    # 0: the worker is a task of the service process; n: n processes of its own (bulk/runner.py).
    bulk_worker_processes: int = Field(default=0, ge=0, le=32)
    # Rows one worker claims, signs and writes per transaction.
    bulk_batch_size: int = Field(default=200, ge=1, le=2000)
    # A claim's lease: rows of a worker that died go to another one after it.
    bulk_lease_s: float = Field(default=120.0, gt=0)
    bulk_poll_interval_s: float = Field(default=0.5, gt=0)
    # A row whose every claim ended without an outcome (the worker died each time) fails after this many.
    bulk_max_attempts: int = Field(default=5, ge=1)

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("public_base_url must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_is_configured(self) -> BadgesSettings:
        require_real_secret(self.key_encryption_key, name="BADGES_KEY_ENCRYPTION_KEY", environment=self.environment)
        if self.is_production and not self.public_base_url.startswith("https://"):
            # did:web resolves over https only; credentials must never point at plain http.
            raise ValueError("BADGES_PUBLIC_BASE_URL must be https in production")
        return self
