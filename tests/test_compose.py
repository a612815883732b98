"""docker-compose.yml against the code: no Docker engine needed, only the file and the settings classes.

Each check here would otherwise fail only at ``docker compose up`` (or, worse, silently: a
misspelt ``CATALOG_DATABSE_URL`` is ignored and the service falls back to SQLite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from services.badges.settings import BadgesSettings
from services.catalog.settings import CatalogSettings
from services.credentials.settings import CredentialsSettings
from services.gateway.settings import UPSTREAMS, GatewaySettings
from shared.settings import REPO_ROOT, ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "catalog": CatalogSettings,
    "credentials": CredentialsSettings,
    "badges": BadgesSettings,
    "gateway": GatewaySettings,
}
REQUIRED = ("DATABASE_URL", "ENVIRONMENT", "HOST", "PORT")
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_SERVICES = [name for name, service in SERVICES.items() if "build" in service]
INIT_SQL = (REPO_ROOT / "deploy" / "postgres" / "init.sh").read_text()


def prefix(cls: type[ServiceSettings]) -> str:
    return str(cls.model_config["env_prefix"])


def env_names(cls: type[ServiceSettings]) -> set[str]:
    """Every variable the settings class reads (no aliases are used, so prefix + field name)."""
    return {f"{prefix(cls)}{name.upper()}" for name in cls.model_fields}


def unknown_env(env: Mapping[str, str]) -> list[str]:
    """Names carrying a service's prefix that its settings class does not read (typos, removed fields)."""
    return sorted(
        name for name in env for cls in SETTINGS.values() if name.startswith(prefix(cls)) and name not in env_names(cls)
    )


# What a deployer supplies for the variables compose requires (``${VAR:?message}``).
DEPLOYER_SUPPLIED = {
    "PUBLIC_BASE_URL": "https://practicum.district.example",
    "BADGES_KEY_ENCRYPTION_KEY": "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80",
}


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with nothing set on the host: the defaults are what must agree.
    A required ``${VAR:?message}`` takes what a deployer would supply."""
    value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: DEPLOYER_SUPPLIED[m.group(1)], value)
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def environment(name: str) -> dict[str, str]:
    env = SERVICES[name].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def settings_of(service: str, monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The settings the service would really load inside its container."""
    for key, value in environment(service).items():
        monkeypatch.setenv(key, value)
    return SETTINGS[service]()


def test_postgres_and_the_four_services_are_defined() -> None:
    assert {"postgres", *SETTINGS} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:15")


def test_every_app_service_runs_the_repo_image() -> None:
    assert set(SETTINGS) <= set(APP_SERVICES)
    for name in APP_SERVICES:
        assert SERVICES[name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert SERVICES[name]["image"] == SERVICES["gateway"]["image"], name


def test_unknown_env_catches_typos_and_wrong_prefixes() -> None:
    assert "CATALOG_DATABASE_URL" in env_names(CatalogSettings)
    assert "GATEWAY_CATALOG_URL" in env_names(GatewaySettings)
    env = {"CATALOG_DATABSE_URL": "x", "CATALOG_CATALOG_URL": "x", "GATEWAY_CATALOG_URL": "x", "PATH": "x"}
    assert unknown_env(env) == ["CATALOG_CATALOG_URL", "CATALOG_DATABSE_URL"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_env_names_are_settings_the_code_reads(name: str) -> None:
    assert unknown_env(environment(name)) == []


@pytest.mark.parametrize("service", SETTINGS)
def test_required_settings_are_set_for_production(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(service)
    assert [key for key in REQUIRED if f"{prefix(SETTINGS[service])}{key}" not in env] == []
    settings = settings_of(service, monkeypatch)
    assert settings.is_production
    assert settings.host == "0.0.0.0"


@pytest.mark.parametrize("service", SETTINGS)
def test_command_and_readyz_healthcheck_use_the_configured_port(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_of(service, monkeypatch)
    command = SERVICES[service]["command"]
    assert f"services.{service}.app:create_app" in command
    assert command[command.index("--host") + 1] == settings.host
    assert command[command.index("--port") + 1] == str(settings.port)
    test = " ".join(SERVICES[service]["healthcheck"]["test"])
    assert f":{settings.port}/readyz" in test
    assert "curl" not in test
    assert "wget" not in test  # neither exists in python:3.11-slim


def test_gateway_reaches_each_upstream_by_service_name_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = settings_of("gateway", monkeypatch)
    assert isinstance(gateway, GatewaySettings)
    depends_on = SERVICES["gateway"]["depends_on"]
    for upstream in UPSTREAMS:
        url = urlsplit(gateway.upstream_url(upstream))
        assert (url.hostname, url.port) == (upstream, settings_of(upstream, monkeypatch).port)
        assert depends_on[upstream]["condition"] == "service_healthy"


def test_credentials_asks_the_catalog_by_service_name_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = settings_of("credentials", monkeypatch)
    assert isinstance(credentials, CredentialsSettings)
    url = urlsplit(credentials.catalog_url)
    assert (url.hostname, url.port) == ("catalog", settings_of("catalog", monkeypatch).port)


def test_only_the_gateway_publishes_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_of("gateway", monkeypatch).port == 8000
    assert SERVICES["gateway"]["ports"] == ["8000:8000"]
    assert [name for name, service in SERVICES.items() if "ports" in service] == ["gateway"]


@pytest.mark.parametrize("service", SETTINGS)
def test_each_service_connects_as_its_own_role_to_its_own_schema(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_of(service, monkeypatch)
    url = make_url(settings.database_url)
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql+asyncpg", "postgres", 5432, "practicum")
    assert url.username == settings.db_schema == service
    assert re.search(rf"^CREATE ROLE {service} LOGIN\b", INIT_SQL, re.M)
    assert re.search(rf"^CREATE SCHEMA {service} AUTHORIZATION {service};", INIT_SQL, re.M)
    # The role gets the password the service uses: same variable, same default on both sides.
    password_var = f"{service.upper()}_DB_PASSWORD"
    assert f'{service}_password="${password_var}"' in INIT_SQL
    assert environment("postgres")[password_var] == url.password
    # The migration step connects as the same role.
    assert environment("migrate")[f"{prefix(SETTINGS[service])}DATABASE_URL"] == settings.database_url


def test_migrations_run_once_before_any_service_starts() -> None:
    migrate = SERVICES["migrate"]
    script = " ".join(migrate["command"])
    assert [s for s in SETTINGS if f"alembic -n {s} upgrade head" not in script] == []
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in SETTINGS:
        assert SERVICES[service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_installs_the_locked_dependencies_and_drops_root() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"^COPY requirements\.lock ", dockerfile, re.M)
    assert re.search(r"^RUN pip install .*--require-hashes -r requirements\.lock", dockerfile, re.M)
    for path in ("alembic.ini", "migrations/", "shared/", "services/"):
        assert re.search(rf"^COPY {re.escape(path)} ", dockerfile, re.M), path
    assert "PYTHONUNBUFFERED=1" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert not {"requirements.lock", "alembic.ini", "migrations", "shared", "services"} & set(ignored)
