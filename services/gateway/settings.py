"""Configuration of the gateway; every variable starts with ``GATEWAY_``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings

UPSTREAMS = ("catalog", "credentials", "badges")

# Resource prefix → the service that owns it. Clients see one API; only this table knows
# which service answers. Later issues add their resources here.
DEFAULT_ROUTES: dict[str, str] = {
    "/v1/frameworks": "catalog",
    "/v1/offerings": "catalog",
    "/v1/offerings-settings": "catalog",
    "/v1/offerings-public": "catalog",
    "/v1/sessions": "catalog",
    "/v1/registrations": "catalog",
    "/v1/pathways": "catalog",
    "/v1/search": "catalog",
    "/v1/recommendations": "catalog",
    "/v1/ops/catalog": "catalog",
    "/v1/designs": "credentials",
    "/v1/credential-designs": "credentials",
    "/v1/pursuits": "credentials",
    "/v1/submissions": "credentials",
    "/v1/reviews": "credentials",
    "/v1/awards": "credentials",
    "/v1/ledger": "credentials",
    "/v1/educators": "credentials",
    "/v1/assessors": "credentials",
    "/v1/reports": "credentials",
    "/v1/exports": "credentials",
    "/v1/ops/credentials": "credentials",
    "/v1/issuers": "badges",
    "/v1/achievements": "badges",
    "/v1/badges": "badges",
    "/v1/verify": "badges",
    "/v1/status-lists": "badges",
    "/v1/jobs": "badges",
    "/v1/ops/badges": "badges",
    # Public Open Badges documents: issuer profiles, DID documents, keys, achievements,
    # credentials, status lists and OB 2.0 documents — every URL inside a credential.
    "/ob": "badges",
}


# argon2-cffi's PasswordHasher() defaults: the least a deployment may use.
DEFAULT_HASH_COST = {"time_cost": 3, "memory_kib": 65536, "parallelism": 4}


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", validate_default=True)

    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000

    catalog_url: str = "http://127.0.0.1:8001"
    credentials_url: str = "http://127.0.0.1:8002"
    badges_url: str = "http://127.0.0.1:8003"
    # How long an upstream may stay silent while answering (per read), per service.
    catalog_timeout_s: float = Field(default=30.0, gt=0)
    credentials_timeout_s: float = Field(default=30.0, gt=0)
    badges_timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=2.0, gt=0)
    max_connections_per_upstream: int = Field(default=200, ge=1)
    # Bodies up to this size are read whole before forwarding (cheaper); larger ones stream.
    buffer_request_bytes: int = Field(default=65536, ge=0)
    # Answers with a Content-Length up to this size are read whole before relaying; larger stream.
    buffer_response_bytes: int = Field(default=1048576, ge=0)
    readiness_probe_timeout_s: float = Field(default=2.0, gt=0)
    openapi_cache_s: float = Field(default=30.0, ge=0)
    # The gateway's public address: the issuer of its tokens and the base of its metadata.
    public_base_url: str = "http://127.0.0.1:8000"
    access_token_ttl_s: int = Field(default=900, ge=60, le=86400)
    internal_token_ttl_s: int = Field(default=30, ge=5, le=60)
    # Rate limits (token bucket). Empty REDIS_URL: per gateway process; set it so replicas share.
    redis_url: str = ""
    rate_limit_client_per_s: float = Field(default=50.0, gt=0, description="requests/s per API client")
    rate_limit_client_burst: int = Field(default=100, ge=1)
    rate_limit_auth_per_min: float = Field(default=30.0, gt=0, description="token requests/min per IP")
    rate_limit_auth_burst: int = Field(default=10, ge=1)
    # The public verifier (POST /v1/verify) needs no token, so it is limited per address.
    rate_limit_verify_per_min: float = Field(default=60.0, gt=0)
    rate_limit_verify_burst: int = Field(default=20, ge=1)
    # Denied requests (401/403) are audited; repeats of the same denial within this window are
    # folded into one record's count, so a flood of bad tokens cannot flood the audit log.
    denial_audit_window_s: float = Field(default=60.0, ge=0)
    # The argon2id cost of hashing passwords and client secrets (RFC 9106); the defaults are
    # argon2-cffi's own, and settings below them are refused outside ENVIRONMENT=test.
    password_hash_time_cost: int = Field(default=DEFAULT_HASH_COST["time_cost"], ge=1)
    password_hash_memory_kib: int = Field(default=DEFAULT_HASH_COST["memory_kib"], ge=8)
    password_hash_parallelism: int = Field(default=DEFAULT_HASH_COST["parallelism"], ge=1)
    # Let a tenant's OIDC JWKS URL point at private or loopback addresses (on-premises IdPs, tests).
    oidc_allow_private: bool = False
    # Dev only: create the demo tenants, users and API clients on start (refused in production).
    dev_seed: bool = True
    routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    # Which services a service may ask on its caller's behalf: the internal token for a request
    # to the key is also good for the services listed (docs/decisions/0013-service-to-service-calls.md).
    delegations: dict[str, list[str]] = Field(
        default_factory=lambda: {"credentials": ["catalog"], "catalog": ["credentials"]}
    )

    @model_validator(mode="after")
    def _routes_name_known_services(self) -> GatewaySettings:
        for prefix, service in self.routes.items():
            if not prefix.startswith("/") or prefix.endswith("/"):
                raise ValueError(f"route prefix {prefix!r} must start with '/' and not end with '/'")
            if service not in UPSTREAMS:
                raise ValueError(f"route {prefix!r} names unknown service {service!r}; known: {', '.join(UPSTREAMS)}")
        return self

    @model_validator(mode="after")
    def _delegations_name_known_services(self) -> GatewaySettings:
        for caller, callees in self.delegations.items():
            for name in (caller, *callees):
                if name not in UPSTREAMS:
                    raise ValueError(f"delegation names unknown service {name!r}; known: {', '.join(UPSTREAMS)}")
            if caller in callees:
                raise ValueError(f"{caller!r} cannot be delegated to itself")
        return self

    @model_validator(mode="after")
    def _password_hash_cost_at_least_the_default(self) -> GatewaySettings:
        # argon2 needs 8 KiB of memory per lane.
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError("password_hash_memory_kib must be at least 8 times password_hash_parallelism")
        if self.environment is Environment.test:
            return self  # the suite hashes hundreds of secrets: it may use the minimum cost
        for name, least in DEFAULT_HASH_COST.items():
            if getattr(self, f"password_hash_{name}") < least:
                raise ValueError(f"password_hash_{name} below {least} is allowed only when ENVIRONMENT=test")
        return self

    @model_validator(mode="after")
    def _no_seed_in_production(self) -> GatewaySettings:
        if self.dev_seed and self.is_production:
            self.dev_seed = False  # the demo accounts have published passwords
        return self

    def upstream_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    def upstream_timeout(self, service: str) -> float:
        return float(getattr(self, f"{service}_timeout_s"))
