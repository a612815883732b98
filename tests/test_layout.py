"""The house stays walkable (ADR 0017): docs/layout.md and the README's layout name exactly the
packages and service-wide modules that exist, routes stay in area packages, and the app's state
is read only through its typed state module."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import SERVICES

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = (ROOT / "docs" / "layout.md").read_text()
README = (ROOT / "README.md").read_text()


def packages(service: str) -> set[str]:
    """The packages directly inside a service (areas, pure libraries, the seed)."""
    return {p.parent.name for p in (ROOT / "services" / service).glob("*/__init__.py")}


def root_modules(service: str) -> set[str]:
    return {p.name for p in (ROOT / "services" / service).glob("*.py") if p.name != "__init__.py"}


def every_service_modules() -> set[str]:
    """The service-wide modules the layout page names once for all services."""
    table = LAYOUT.split("## In every service", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+\.py)` \|", table, flags=re.MULTILINE))


def test_the_layout_page_names_every_package_and_service_wide_module_and_nothing_else() -> None:
    named = set(re.findall(r"`(services/[\w/.]+)`", LAYOUT))
    for path in named:
        assert (ROOT / path).exists(), f"docs/layout.md names {path}, which does not exist"
    common = every_service_modules()
    assert {"app.py", "deps.py", "settings.py", "models.py", "schemas.py", "api.py"} <= common
    for service in SERVICES:
        for package in packages(service) - {"seed"}:
            assert f"services/{service}/{package}/" in named, f"docs/layout.md misses services/{service}/{package}/"
        for module in root_modules(service) - common:
            assert f"services/{service}/{module}" in named, f"docs/layout.md misses services/{service}/{module}"


def test_the_readme_layout_lists_each_services_packages_and_extra_modules() -> None:
    layout = README.split("### Layout", 1)[1].split("\n## ", 1)[0]
    common = every_service_modules()
    for service in SERVICES:
        match = re.search(rf"^- `services/{service}/` — (.*?)(?=^- |\Z)", layout, flags=re.MULTILINE | re.DOTALL)
        assert match, f"the README's layout has no line for services/{service}/"
        line = match.group(1)
        assert set(re.findall(r"`(\w+)/`", line)) == packages(service), service
        assert set(re.findall(r"`(\w+\.py)`", line)) == root_modules(service) - common, service


def test_every_decision_record_is_named_in_the_readme() -> None:
    layout = README.split("### Layout", 1)[1].split("\n## ", 1)[0]
    numbers = {path.name[:4] for path in (ROOT / "docs" / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md")}
    assert numbers == set(re.findall(r"\b(00\d\d) ", " ".join(layout.split())))


def test_a_services_root_api_only_gathers_the_area_routers() -> None:
    for service in SERVICES:
        text = (ROOT / "services" / service / "api.py").read_text()
        assert not re.search(r"^@\w*router\.", text, flags=re.MULTILINE), f"services/{service}/api.py defines routes"


def python_files() -> list[Path]:
    return [p for top in ("services", "shared", "tests", "bench") for p in (ROOT / top).rglob("*.py")]


def test_app_state_is_read_only_through_the_typed_state_module() -> None:
    allowed = {ROOT / "shared" / "state.py", Path(__file__).resolve()}
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_files()
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bapp\.state\b|\]\.state\.|\bapp\)\.state\b", line)
    ]
    assert offenders == [], "app.state outside shared/state.py (use state_of / the service's deps.py)"


def test_no_global_session_hooks_and_no_session_scope() -> None:
    for path in python_files():
        text = path.read_text()
        if path.resolve() == Path(__file__).resolve():
            continue
        assert not re.search(r"listens_for\(\s*(AsyncSession|Session)\b", text), path
        assert "session_scope" not in text, path
