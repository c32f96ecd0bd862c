"""Password hashing (argon2id) and the password rules of OWASP ASVS 5 (length, common list)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.settings import Settings, get_settings

MIN_LENGTH = 8
MAX_LENGTH = 128

# The most common passwords of public breach corpora (a short list is enough to stop the worst).
COMMON_PASSWORDS = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "11111111",
        "00000000",
        "iloveyou",
        "princess",
        "sunshine",
        "football",
        "baseball",
        "welcome1",
        "welcome123",
        "letmein1",
        "admin123",
        "administrator",
        "abc12345",
        "abcd1234",
        "trustno1",
        "monkey123",
        "dragon123",
        "superman",
        "starwars",
        "passw0rd",
        "p@ssw0rd",
        "qwertyui",
        "1q2w3e4r",
        "1qaz2wsx",
        "zaq12wsx",
        "changeme",
        "changeme1",
        "secret123",
        "master123",
        "whatever",
        "computer",
        "internet",
        "michael1",
        "jennifer",
        "123123123",
        "987654321",
        "88888888",
        "12341234",
        "asdfghjkl",
        "asdfasdf",
        "qazwsxedc",
    ]
)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is not acceptable, in words for the user; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 3:
        return "This password is too common. Pick something harder to guess."
    if email and lowered == email.lower():
        return "Don't use your email address as your password."
    if name and lowered == name.lower():
        return "Don't use your name as your password."
    return None


@functools.cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    """argon2id with these costs, and a hash to verify against when there is no account."""
    argon2id = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return argon2id, argon2id.hash("timing-equaliser-never-a-real-password")


def hasher(settings: Settings | None = None) -> PasswordHasher:
    """The argon2id hasher of PASSWORD_HASH_* (argon2-cffi's RFC 9106 profile by default; only
    dev and test may lower it, see app/settings.py)."""
    return _hasher_and_dummy(settings)[0]


def _hasher_and_dummy(settings: Settings | None = None) -> tuple[PasswordHasher, str]:
    s = settings or get_settings()
    return _hasher_for(
        s.password_hash_time_cost, s.password_hash_memory_kib, s.password_hash_parallelism
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; spends the same time when the account does not exist."""
    if len(password) > MAX_LENGTH:
        return False
    current, dummy = _hasher_and_dummy()
    try:
        return current.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
