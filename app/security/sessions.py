"""Server-side sessions in Redis/Valkey: the only cookie set before consent.

The cookie carries a random id; Redis keeps the session under the id's SHA-256, so a copy of
Redis does not hand out live cookies. Sessions expire after an idle and an absolute timeout.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import msgspec

from app.core.redis import redis
from app.settings import Settings


class Session(msgspec.Struct, kw_only=True):
    """One browser's session (anonymous until login)."""

    sid: str
    csrf: str
    visitor_id: str
    created_at: float
    last_seen: float
    user_id: str | None = None
    tenant_id: str | None = None
    ip: str = ""
    user_agent: str = ""
    authenticated_at: float | None = None
    # between the password and the second factor: who, since when, where to go next
    mfa_user_id: str | None = None
    mfa_started_at: float = 0.0
    mfa_next: str = ""
    # the workspace requires MFA for owners and this owner has none yet
    mfa_enrol_required: bool = False
    flashes: list[tuple[str, str]] = msgspec.field(default_factory=list)
    dirty: bool = False
    is_new: bool = False

    def flash(self, level: str, message: str) -> None:
        """Queue a toast for the next rendered page."""
        self.flashes.append((level, message))
        self.dirty = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        items, self.flashes = self.flashes, []
        if items:
            self.dirty = True
        return items


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Session)


def _key(sid: str) -> str:
    return "sess:" + hashlib.sha256(sid.encode()).hexdigest()


def session_key(sid: str) -> str:
    """The Redis key of a session id (also how a session is named on the sessions page)."""
    return _key(sid)


def _user_index(user_id: str) -> str:
    return f"user_sessions:{user_id}"


def new_session(ip: str = "", user_agent: str = "") -> Session:
    now = time.time()
    return Session(
        sid=secrets.token_urlsafe(32),
        csrf=secrets.token_urlsafe(32),
        visitor_id=secrets.token_hex(16),
        created_at=now,
        last_seen=now,
        ip=ip,
        user_agent=user_agent[:300],
        dirty=True,
        is_new=True,
    )


async def load_session(sid: str, settings: Settings) -> Session | None:
    raw = await redis().get(_key(sid))
    if raw is None:
        return None
    session = _decoder.decode(raw)
    now = time.time()
    idle = settings.session_idle_minutes * 60
    absolute = settings.session_absolute_hours * 3600
    if now - session.last_seen > idle or now - session.created_at > absolute:
        await destroy_session(session)
        return None
    session.dirty = False
    session.is_new = False
    return session


async def save_session(session: Session, settings: Settings) -> None:
    ttl = settings.session_absolute_hours * 3600
    data = msgspec.structs.replace(session, dirty=False, is_new=False)
    async with redis().pipeline(transaction=True) as pipe:
        pipe.set(_key(session.sid), _encoder.encode(data), ex=ttl)
        if session.user_id:
            pipe.sadd(_user_index(session.user_id), _key(session.sid))
            pipe.expire(_user_index(session.user_id), ttl)
        await pipe.execute()
    session.dirty = False


async def destroy_session(session: Session) -> None:
    async with redis().pipeline(transaction=True) as pipe:
        pipe.delete(_key(session.sid))
        if session.user_id:
            pipe.srem(_user_index(session.user_id), _key(session.sid))
        await pipe.execute()


def rotate(session: Session) -> str:
    """Give the session a new id and CSRF token (at login); returns the old id to delete."""
    old = session.sid
    session.sid = secrets.token_urlsafe(32)
    session.csrf = secrets.token_urlsafe(32)
    session.created_at = time.time()
    session.dirty = True
    session.is_new = True
    return old


async def forget_id(sid: str, user_id: str | None) -> None:
    """Delete a session by id (the pre-login id after rotation)."""
    async with redis().pipeline(transaction=True) as pipe:
        pipe.delete(_key(sid))
        if user_id:
            pipe.srem(_user_index(user_id), _key(sid))
        await pipe.execute()


async def destroy_user_sessions(user_id: str, keep_key: str | None = None) -> int:
    """Revoke every session of a user (but `keep_key`); returns how many were revoked."""
    members: set[bytes] = await redis().smembers(_user_index(user_id))  # type: ignore[misc]
    keys = [k.decode() for k in members]
    doomed = [k for k in keys if k != keep_key]
    if doomed:
        async with redis().pipeline(transaction=True) as pipe:
            pipe.delete(*doomed)
            pipe.srem(_user_index(user_id), *doomed)
            await pipe.execute()
    return len(doomed)


async def user_sessions(user_id: str) -> list[tuple[str, Session]]:
    """Every live session of a user as (session key, session); drops keys that expired."""
    members: set[bytes] = await redis().smembers(_user_index(user_id))  # type: ignore[misc]
    keys = sorted(k.decode() for k in members)
    if not keys:
        return []
    found: list[tuple[str, Session]] = []
    gone: list[str] = []
    for key, raw in zip(keys, await redis().mget(keys), strict=True):
        if raw is None:
            gone.append(key)
        else:
            found.append((key, _decoder.decode(raw)))
    if gone:
        await redis().srem(_user_index(user_id), *gone)  # type: ignore[misc]
    return found


async def session_by_key(key: str) -> Session | None:
    """A live session by its Redis key (what alerts and the sessions page hold)."""
    raw = await redis().get(key) if key.startswith("sess:") else None
    return _decoder.decode(raw) if raw is not None else None


async def revoke_key(user_id: str, key: str) -> bool:
    """End one of the user's sessions by key; False if it was not theirs or already gone."""
    if not key.startswith("sess:"):
        return False
    if not await redis().sismember(_user_index(user_id), key):  # type: ignore[misc]
        return False
    async with redis().pipeline(transaction=True) as pipe:
        pipe.srem(_user_index(user_id), key)
        pipe.delete(key)
        _, deleted = await pipe.execute()
    return bool(deleted)
