"""The README and CI script stay true to the code: documented settings exist and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

from services.badges.settings import BadgesSettings
from services.catalog.settings import CatalogSettings
from services.gateway.settings import GatewaySettings
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def documented_variables() -> set[str]:
    return set(re.findall(r"`((?:CATALOG|GATEWAY|BADGES)_[A-Z0-9_]+)`", README))


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    expected = {f"CATALOG_{name.upper()}" for name in CatalogSettings.model_fields}
    expected |= {
        f"GATEWAY_{name.upper()}" for name in GatewaySettings.model_fields if name not in ServiceSettings.model_fields
    }
    expected |= {
        f"BADGES_{name.upper()}" for name in BadgesSettings.model_fields if name not in ServiceSettings.model_fields
    }
    assert documented_variables() == expected


def test_quick_start_is_two_commands_and_ci_runs_the_test_command() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", quick_start, flags=re.MULTILINE)
    assert commands == ["make run", "make test"]
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), flags=re.MULTILINE)


def test_every_decision_record_has_a_title_and_status() -> None:
    records = sorted((ROOT / "docs/decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert len(records) >= 6
    for record in records:
        text = record.read_text()
        assert text.startswith(f"# {record.name[:4]} — "), record.name
        assert "Status: accepted" in text, record.name
