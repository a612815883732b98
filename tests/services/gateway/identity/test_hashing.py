"""The argon2id cost is a setting: never below argon2-cffi's defaults outside tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.gateway.identity.hashing import SecretHasher
from services.gateway.settings import DEFAULT_HASH_COST, GatewaySettings

LEAST = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8, "password_hash_parallelism": 1}
# One step below the default each (memory still 8 KiB per lane of the default 4 lanes).
BELOW = {"password_hash_time_cost": 2, "password_hash_memory_kib": 65535, "password_hash_parallelism": 3}


@pytest.mark.parametrize("environment", ["dev", "production"])
@pytest.mark.parametrize("name", sorted(BELOW))
def test_a_cost_below_the_default_is_refused_outside_tests(environment: str, name: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=f"{name} below"):
        GatewaySettings(environment=environment, data_dir=tmp_path, **{name: BELOW[name]})


def test_tests_may_use_the_least_cost_and_the_default_is_argon2s_own(tmp_path: Path) -> None:
    cheap = GatewaySettings(environment="test", data_dir=tmp_path, **LEAST)
    default = GatewaySettings(environment="dev", data_dir=tmp_path)
    assert cheap.password_hash_time_cost == 1
    assert {name: getattr(default, f"password_hash_{name}") for name in DEFAULT_HASH_COST} == DEFAULT_HASH_COST
    with pytest.raises(ValidationError, match="at least 8 times"):
        GatewaySettings(environment="test", data_dir=tmp_path, password_hash_memory_kib=8, password_hash_parallelism=2)


def test_the_hasher_uses_its_cost_and_hashes_nothing_until_asked() -> None:
    hasher = SecretHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    assert hasher._dummy_hash is None
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert hasher.verify(hashed, "correct horse")
    assert not hasher.verify(hashed, "wrong horse")
    assert not hasher.verify(None, "correct horse")  # a miss costs a check against the dummy hash
    assert hasher._dummy_hash is not None
    assert hasher._dummy_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
