"""Test fixtures: every database test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

Each backend gets freshly migrated databases once per session (one SQLite file per service,
or one schema per service in the PostgreSQL test database). Each test then works inside a
transaction that is rolled back at teardown; the app under test receives a sessionmaker bound
to that transaction through ``create_app``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uvloop
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction, async_sessionmaker

from shared.db import READ_ONLY, create_engine
from shared.logging import JsonFormatter
from shared.migrations import upgrade
from tests.support import SERVICES, create_app, make_settings, secrets_in

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
ALL_BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
# `make test` runs one pytest per backend at once (.ci/pytest.sh), each on its share:
# TEST_BACKENDS names the backends this run tests, TEST_WITHOUT_DATABASE=0 leaves the tests that
# need no database to the other run.
_selected = {name.strip() for name in os.environ.get("TEST_BACKENDS", "").split(",") if name.strip()}
BACKENDS = [name for name in ALL_BACKENDS if name in _selected] if _selected else ALL_BACKENDS
WITHOUT_DATABASE = os.environ.get("TEST_WITHOUT_DATABASE", "1") != "0"
_ran: Counter[str] = Counter()
_seconds: Counter[str] = Counter()  # time spent in tests (setup, call, teardown) per backend
_ci_failures: list[str] = []


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """Tests run on uvloop, the loop uvicorn uses in production (its transports differ)."""
    return {"uvloop": uvloop.new_event_loop}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        # A test marked one_backend checks what does not depend on the database: the first suffices.
        wanted = ALL_BACKENDS[:1] if metafunc.definition.get_closest_marker("one_backend") else ALL_BACKENDS
        metafunc.parametrize("backend", wanted, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out what another run of this suite tests (see BACKENDS and WITHOUT_DATABASE)."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("backend") if params is not None else None
        wanted = backend in BACKENDS if backend is not None else WITHOUT_DATABASE
        (keep if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _backend_of(nodeid: str) -> str | None:
    for name in ("sqlite", "postgresql"):
        if f"[{name}" in nodeid or f"-{name}" in nodeid:
            return name
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    backend = _backend_of(report.nodeid)
    _seconds[backend or "no database"] += report.duration
    if report.when == "call" and report.passed and backend:
        _ran[backend] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = [f"{name}: {_ran[name]} passed" for name in ("sqlite", "postgresql")]
    terminalreporter.write_line("database backends: " + "; ".join(parts))
    spent = ", ".join(f"{name} {int(s) // 60}:{int(s) % 60:02d}" for name, s in _seconds.most_common())
    terminalreporter.write_line(f"time in tests by backend: {spent}")
    if not PG_URL:
        terminalreporter.write_line("PostgreSQL was not tested: set TEST_DATABASE_URL (CI does)")
    elif BACKENDS != ALL_BACKENDS or not WITHOUT_DATABASE:
        share = ", ".join(BACKENDS) + (" and the tests without a database" if WITHOUT_DATABASE else " only")
        terminalreporter.write_line(f"this run's share of the suite: {share}")
    redis = "in-process and Redis" if os.environ.get("TEST_REDIS_URL") else "in-process only (set TEST_REDIS_URL)"
    terminalreporter.write_line(f"rate limiter backends: {redis}")
    terminalreporter.write_line(f"log lines searched for secrets: {len(_log_lines.lines)}")
    for failure in _ci_failures:
        terminalreporter.write_line(failure, red=True)


class _AllLogLines(logging.Handler):
    """Every log line written anywhere in the suite, formatted as in production."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_log_lines = _AllLogLines()


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    root.addHandler(_log_lines)
    root.setLevel(logging.INFO)  # what production logs


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Passwords, client secrets and tokens never reach a log line, across the whole suite.
    leaked = secrets_in(_log_lines.lines)
    if leaked:
        session.exitstatus = 1
        _ci_failures.append(f"secrets in {len(leaked)} log line(s), e.g. {leaked[0][:300]}")

    # In CI a run that silently skipped a backend must not pass.
    if os.environ.get("CI") and exitstatus == 0 and not session.config.option.keyword:
        required = sorted(_selected) if _selected else ["sqlite", "postgresql"]
        missing = [name for name in required if _ran[name] == 0]
        if missing:
            session.exitstatus = 1
            _ci_failures.append(f"CI: no database test passed on {', '.join(missing)}")


async def reset_postgres(url: str) -> None:
    engine = create_engine(url, schema="public")
    async with engine.begin() as conn:
        for service in SERVICES:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{service}" CASCADE'))
    await engine.dispose()


@pytest.fixture(scope="session")
async def database_urls(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases for every service on this backend."""
    if backend == "sqlite":
        root = tmp_path_factory.mktemp("sqlite")
        urls = {s: f"sqlite+aiosqlite:///{root / (s + '.sqlite3')}" for s in SERVICES}
    else:
        await reset_postgres(PG_URL)
        urls = dict.fromkeys(SERVICES, PG_URL)
    for service, url in urls.items():
        await asyncio.to_thread(upgrade, service, url)
    return urls


@pytest.fixture(scope="session")
async def engines(database_urls: dict[str, str]) -> AsyncIterator[dict[str, AsyncEngine]]:
    made = {s: create_engine(url, schema=s) for s, url in database_urls.items()}
    yield made
    for engine in made.values():
        await engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def keys_dir(data_dir: Path) -> Path:
    """Where the gateway of this test keeps its token keys, and its services find them."""
    return data_dir / "gateway-keys"


AppFactory = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def make_app(
    engines: dict[str, AsyncEngine], database_urls: dict[str, str], data_dir: Path
) -> AsyncIterator[AppFactory]:
    """``await make_app("catalog", **settings)`` → an app whose requests all run inside one
    transaction of this test, rolled back at teardown (its typed state's ``sessionmaker`` reaches it)."""
    opened: list[tuple[AsyncConnection, AsyncTransaction]] = []

    async def factory(service: str, **overrides: Any) -> FastAPI:
        settings = make_settings(service, database_urls[service], data_dir, **overrides)
        conn = await engines[service].connect()
        # Deferred on SQLite: the test's outer transaction must not hold the write lock before
        # it writes, or the app's own connections (readiness) would queue behind it.
        await conn.execution_options(**READ_ONLY)
        trans = await conn.begin()
        opened.append((conn, trans))
        maker = async_sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        return create_app(service, settings, sessionmaker=maker, engine=engines[service])

    try:
        yield factory
    finally:
        for conn, trans in opened:
            await trans.rollback()
            await conn.close()


@pytest.fixture
async def make_committing_app(database_urls: dict[str, str], data_dir: Path) -> AsyncIterator[AppFactory]:
    """``await make_committing_app("badges", **settings)`` → an app on an engine of its own whose
    requests each run in their own transaction on their own connection, committed as in
    production.

    Only for races: requests that must meet inside the database (one Idempotency-Key sent
    twice at once, two registrations for the last seat). ``make_app`` cannot show those, since
    all of its requests share one connection and one transaction; every other test uses it.

    What such a test writes is committed and stays in this session's databases, so it works in
    a tenant of its own (``str(uuid.uuid4())``) and asserts only on that tenant's rows. On
    SQLite it must not also write through a ``make_app`` app of the same service: that test
    transaction keeps the file's write lock until teardown, and the committing app's writers
    would wait for it. The engines belong to this fixture (not to the apps' lifespans) and are
    disposed at teardown. Serve the app with ``LiveServer`` and line the racing requests up
    with ``StartingGate`` (tests/support.py) so that they really overlap.
    """
    made: list[AsyncEngine] = []

    async def factory(service: str, **overrides: Any) -> FastAPI:
        settings = make_settings(service, database_urls[service], data_dir, **overrides)
        engine = create_engine(settings.database_url, schema=settings.db_schema, pool_size=settings.db_pool_size)
        made.append(engine)
        # No sessionmaker: the app makes its own on this engine, one committed session per request.
        return create_app(service, settings, engine=engine)

    try:
        yield factory
    finally:
        for engine in made:
            await engine.dispose()
