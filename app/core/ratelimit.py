"""Rate limits and progressive lockout in Redis (shared by every web process).

Counters are fixed windows keyed by an HMAC of the subject (IP, email), so Redis never holds
addresses in clear. Lockout is per account and progressive (1, 2, 4, 8, then at most 15
minutes), and its level decays after a quiet day, so nobody can lock a victim out for good;
a device the account already signed in from is not held by the account lock at all.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from litestar.exceptions import TooManyRequestsException

from app.core.redis import redis
from app.settings import get_settings


@dataclass(frozen=True)
class Limit:
    """At most `limit` events per `window` seconds for one subject."""

    name: str
    limit: int
    window: int


LOGIN_FAILURES_PER_IP = Limit("login-fail-ip", 30, 600)
SIGNUP_PER_IP = Limit("signup-ip", 20, 3600)
RESET_PER_IP = Limit("reset-ip", 20, 3600)
RESET_PER_EMAIL = Limit("reset-email", 3, 3600)
INVITE_PER_USER = Limit("invite-user", 20, 3600)
INVITE_PER_IP = Limit("invite-ip", 50, 3600)
MFA_PER_LOGIN = Limit("mfa-step", 5, 600)

FAILURES_BEFORE_ALERT = 3
FAILURES_BEFORE_LOCK = 5
FAILURE_WINDOW = 15 * 60
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 15 * 60
LEVEL_DECAY_SECONDS = 24 * 3600


def _subject(value: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, value.strip().casefold().encode(), hashlib.sha256).hexdigest()[:32]


def wait_text(seconds: int) -> str:
    """'45 seconds', '1 minute', '15 minutes'."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def too_many(message: str, retry_after: int) -> TooManyRequestsException:
    """A 429 whose message tells the wait; Retry-After says it to machines."""
    retry_after = max(int(retry_after), 1)
    return TooManyRequestsException(
        detail=f"{message} Try again in {wait_text(retry_after)}.",
        headers={"Retry-After": str(retry_after)},
    )


async def hit(limit: Limit, subject: str) -> int:
    """Count one event; returns 0 when allowed, else the seconds until the window resets."""
    key = f"rl:{limit.name}:{_subject(subject)}"
    async with redis().pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, limit.window, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    return 0 if int(count) <= limit.limit else max(int(ttl), 1)


async def blocked_for(limit: Limit, subject: str) -> int:
    """Seconds until `subject` may act again, without counting (0 when it may now)."""
    key = f"rl:{limit.name}:{_subject(subject)}"
    async with redis().pipeline(transaction=True) as pipe:
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = await pipe.execute()
    return max(int(ttl), 1) if count is not None and int(count) >= limit.limit else 0


async def enforce(limit: Limit, subject: str, message: str) -> None:
    """`hit`, raising a 429 with the wait time when over the limit."""
    wait = await hit(limit, subject)
    if wait:
        raise too_many(message, wait)


# --- progressive account lockout --------------------------------------------------------


def _lock_keys(account: str) -> tuple[str, str, str]:
    s = _subject(account)
    return f"lock:fail:{s}", f"lock:until:{s}", f"lock:level:{s}"


async def lock_remaining(account: str) -> int:
    """Seconds the account is still locked (0 when it is not)."""
    _, until, _ = _lock_keys(account)
    ttl = int(await redis().ttl(until))
    return max(ttl, 0)


@dataclass(frozen=True)
class FailureOutcome:
    failures: int
    locked_for: int  # seconds; 0 when this failure did not lock the account

    @property
    def burst(self) -> bool:
        return self.failures == FAILURES_BEFORE_ALERT


async def record_failure(account: str) -> FailureOutcome:
    """Count a failed sign-in; every FAILURES_BEFORE_LOCK-th failure locks, each time longer."""
    fail, until, level = _lock_keys(account)
    async with redis().pipeline(transaction=True) as pipe:
        pipe.incr(fail)
        pipe.expire(fail, FAILURE_WINDOW, nx=True)
        failures = int((await pipe.execute())[0])
    if failures % FAILURES_BEFORE_LOCK:
        return FailureOutcome(failures, 0)
    async with redis().pipeline(transaction=True) as pipe:
        pipe.incr(level)
        pipe.expire(level, LEVEL_DECAY_SECONDS)
        lvl = int((await pipe.execute())[0])
    seconds = min(FIRST_LOCK_SECONDS * 2 ** (lvl - 1), MAX_LOCK_SECONDS)
    await redis().set(until, b"1", ex=seconds)
    return FailureOutcome(failures, seconds)


async def record_success(account: str) -> None:
    """A correct sign-in clears the failure count and the lock level."""
    await redis().delete(*_lock_keys(account))


def subject_hash(value: str) -> str:
    """How rate-limit and lockout keys name an address or IP (a keyed hash, never the value)."""
    return _subject(value)


async def forget_subject(value: str) -> int:
    """Delete every counter and lock kept for `value` (an address of a deleted account)."""
    digest = _subject(value)
    keys = [*_lock_keys(value)]
    keys += [key async for key in redis().scan_iter(match=f"rl:*:{digest}", count=1000)]
    return int(await redis().delete(*keys)) if keys else 0
