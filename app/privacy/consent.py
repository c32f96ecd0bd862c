"""Cookie consent: the append-only ledger, the cached current choice, the analytics cookie.

Only the essential session cookie exists before a choice. The analytics cookie is set by the
privacy middleware once analytics consent is granted and deleted as soon as it is withdrawn.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from uuid import UUID

import msgspec
from piccolo.custom_types import Combinable

from app.core.db import global_transaction
from app.core.redis import redis
from app.privacy.tables import Consent

ANALYTICS = "analytics"
ANALYTICS_COOKIE = "odex_analytics"
ANALYTICS_COOKIE_DAYS = 365
SOURCES = ("banner", "preferences", "settings")
CACHE_TTL = 6 * 3600
STATE_KEY = "odex.privacy"


class PrivacyState(msgspec.Struct, kw_only=True):
    """What the privacy middleware knows about this request (read by templates and routes)."""

    consent: bool | None = None
    analytics_id: str | None = None
    policy_notice: dict[str, object] | None = None


def banners_state(scope: Mapping[str, object]) -> tuple[bool, bool, bytes]:
    """What the banners (privacy/_banners.html) read of a request's state: whether there is
    one, whether no choice was made, the policy notice (`Slot.varies_by`)."""
    state = scope.get(STATE_KEY)
    if not isinstance(state, PrivacyState):
        return (False, False, b"")
    return (True, state.consent is None, msgspec.json.encode(state.policy_notice))


_USER_KEY = "privacy:consent:u:{user_id}"
_VISITOR_KEY = "privacy:consent:v:{visitor_id}"
# the consent caches as templates over a session's fields (read with the session)
CACHE_KEY_TEMPLATES = (_VISITOR_KEY, _USER_KEY)


def _user_key(user_id: str) -> str:
    return _USER_KEY.format(user_id=user_id)


def _visitor_key(visitor_id: str) -> str:
    return _VISITOR_KEY.format(visitor_id=visitor_id)


def _encode(value: bool | None) -> bytes:
    return b"-" if value is None else (b"1" if value else b"0")


def _decode(raw: bytes | None) -> bool | None:
    return None if raw in (None, b"-") else raw == b"1"


async def _latest_from_ledger(user_id: str | None, visitor_id: str | None) -> bool | None:
    async with global_transaction():
        query = Consent.select(Consent.granted).where(Consent.purpose == ANALYTICS)
        if user_id:
            query = query.where(Consent.user_id == UUID(user_id))
        else:
            query = query.where(Consent.visitor_id == visitor_id)
        row = await query.order_by(Consent.id, ascending=False).first()
    return None if row is None else bool(row["granted"])


def cache_keys(user_id: str | None, visitor_id: str) -> list[str]:
    """The Redis keys `analytics_consent` reads (a caller may fetch them with others)."""
    return [_visitor_key(visitor_id)] + ([_user_key(user_id)] if user_id else [])


async def analytics_consent(
    user_id: str | None, visitor_id: str, cached: Sequence[bytes | None] | None = None
) -> bool | None:
    """The current analytics choice: the user's if signed in, else this browser's; None = none.

    Read from a Redis cache in front of the ledger (one round trip per request; none when the
    caller fetched `cache_keys` already and passes their values as `cached`).
    """
    if cached is None:
        cached = await redis().mget(cache_keys(user_id, visitor_id))
    if user_id:
        raw = cached[1]
        if raw is None:
            value = await _latest_from_ledger(user_id, None)
            await redis().set(_user_key(user_id), _encode(value), ex=CACHE_TTL)
            raw = _encode(value)
        if raw != b"-":
            return _decode(raw)
    raw = cached[0]
    if raw is None:
        value = await _latest_from_ledger(None, visitor_id)
        await redis().set(_visitor_key(visitor_id), _encode(value), ex=CACHE_TTL)
        return value
    return _decode(raw)


async def record_choice(
    *,
    granted: bool,
    user_id: str | None,
    visitor_id: str,
    source: str,
    page: str,
    ip: str,
    user_agent: str,
) -> None:
    """Append the choice to the ledger; it takes effect at once (the cache is updated)."""
    from app.privacy.policy import current_version

    if source not in SOURCES:
        source = "settings"
    version = (await current_version())["version"]
    async with global_transaction():
        await Consent.insert(
            Consent(
                user_id=UUID(user_id) if user_id else None,
                visitor_id=visitor_id[:64],
                purpose=ANALYTICS,
                granted=granted,
                policy_version=version,
                source=source,
                page=page[:300],
                ip=ip[:64],
                user_agent=user_agent[:300],
            )
        )
    async with redis().pipeline(transaction=True) as pipe:
        pipe.set(_visitor_key(visitor_id), _encode(granted), ex=CACHE_TTL)
        if user_id:
            pipe.set(_user_key(user_id), _encode(granted), ex=CACHE_TTL)
        await pipe.execute()


async def history(user_id: UUID, visitor_id: str | None = None) -> list[dict[str, object]]:
    """Every ledger entry about the user (and this browser), newest first."""
    async with global_transaction():
        where: Combinable = Consent.user_id == user_id
        if visitor_id:
            where = where | (Consent.visitor_id == visitor_id)
        rows = await Consent.select().where(where).order_by(Consent.id, ascending=False)
    return list(rows)


def new_analytics_id() -> str:
    return secrets.token_hex(16)
