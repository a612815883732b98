"""Denied requests are audited, but a flood of them is folded into counts, never written one by one."""

from __future__ import annotations

import time

import pytest

from services.gateway.identity.denials import Denial, DenialLog


def denial(actor: str = "anonymous", status: int = 401, address: str = "203.0.113.9") -> Denial:
    return Denial(
        status=status, actor=actor, tenant_id=None, address=address, method="GET", path="/v1/x", reason="expired"
    )


def test_repeats_within_the_window_fold_into_the_next_record(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    log = DenialLog(window_s=60)
    assert log.admit(denial()) == 0  # the first is written
    assert [log.admit(denial()) for _ in range(3)] == [None, None, None]  # folded
    assert log.admit(denial(status=403)) == 0, "another kind of denial is its own record"
    assert log.admit(denial(address="198.51.100.1")) == 0, "so is another address"
    clock[0] += 61
    assert log.admit(denial()) == 3, "the next record after the window carries the folded count"
    assert log.admit(denial()) is None


def test_a_flood_of_distinct_callers_cannot_grow_memory_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    log = DenialLog(window_s=60, max_keys=10)
    admitted = [log.admit(denial(address=f"198.51.100.{i}")) for i in range(50)]
    assert admitted[:10] == [0] * 10
    assert admitted[10:] == [None] * 40
    clock[0] += 61
    assert log.admit(denial(address="192.0.2.1")) == 0, "expired keys are forgotten to make room"
    assert len(log._folds) <= 10


def test_the_record_names_no_query_and_bounds_the_path() -> None:
    long = denial()
    long.path = "/v1/" + "a" * 500
    detail = long.detail(suppressed=2)
    assert len(detail["path"]) == 200
    assert detail["repeats_folded"] == 2
    assert long.action == "access.unauthenticated"
    assert denial(status=403).action == "access.forbidden"
