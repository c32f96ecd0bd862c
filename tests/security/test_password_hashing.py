"""Password hashes: production keeps argon2id's strong cost; only dev and test may lower it
(the suite does, through PASSWORD_HASH_*, to sign up and log in quickly)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from app.core import passwords
from app.settings import Settings, SettingsError, load_settings, weaker_password_hashing

SECRETS = {
    "SECRET_KEY": "x" * 48,
    "FIELD_KEYS": "k1:" + "A" * 43 + "=",
    "BLIND_INDEX_KEY": "A" * 43 + "=",
}


def test_production_defaults_are_the_strong_ones() -> None:
    production = load_settings(SECRETS)
    assert production.is_production and not weaker_password_hashing(production)
    assert (
        production.password_hash_time_cost,
        production.password_hash_memory_kib,
        production.password_hash_parallelism,
    ) == (RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost, 4)
    default = PasswordHasher()  # argon2-cffi's own recommendation
    assert (default.time_cost, default.memory_cost, default.parallelism) == (3, 65536, 4)
    encoded = passwords.hasher(production).hash("correct horse battery staple")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    "lowered",
    [
        {"PASSWORD_HASH_TIME_COST": "1"},
        {"PASSWORD_HASH_MEMORY_KIB": "1024"},
        {"PASSWORD_HASH_PARALLELISM": "1"},
    ],
)
def test_production_refuses_a_weaker_hash(lowered: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="only be lowered in dev and test"):
        load_settings({**SECRETS, **lowered})
    stronger = load_settings({**SECRETS, "PASSWORD_HASH_MEMORY_KIB": str(128 * 1024)})
    assert stronger.password_hash_memory_kib == 128 * 1024


def test_the_suite_runs_with_the_lowered_cost(services: dict[str, str]) -> None:
    from app.settings import get_settings

    settings = get_settings()
    assert settings.env == "test" and weaker_password_hashing(settings)
    assert passwords.hash_password("x" * 12).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert not weaker_password_hashing(Settings())
