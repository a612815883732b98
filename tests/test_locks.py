"""The lockfiles: the runtime lock carries no test tools, and the dev lock pins the same runtime."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    found = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s\\]+)", text, flags=re.MULTILINE))
    assert found, f"{name} pins nothing"
    assert text.count("==") == len(found)
    assert text.count("--hash=sha256:") >= len(found), f"{name}: every pin needs a hash"
    return found


def test_runtime_lock_is_a_subset_of_the_dev_lock_at_the_same_versions() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_runtime_lock_has_no_test_tools() -> None:
    runtime = pins("requirements.lock")
    assert not {"pytest", "ruff", "mypy", "schemathesis", "import-linter", "hypothesis"} & set(runtime)
    assert {"fastapi", "uvicorn", "sqlalchemy", "asyncpg", "aiosqlite", "alembic", "httptools", "uvloop"} <= set(
        runtime
    )
