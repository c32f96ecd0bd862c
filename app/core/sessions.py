"""Server-side sessions in Redis/Valkey: the only cookie set before consent.

The cookie carries a random id; Redis keeps the session under the id's SHA-256, so a copy of
Redis does not hand out live cookies. Sessions expire after an idle and an absolute timeout.

A revoked session never comes back: saving is one Lua script that writes an existing session
only while its key still exists, writes a session rotated at sign-in only while the session it
replaces still exists, and refuses a sign-in whose credentials were checked before the user's
last "sign out everywhere" (a revocation marker per user). So a request that was in flight
when the session was revoked cannot re-create it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence

import msgspec
from redis.exceptions import NoScriptError

from app.core.access_events import announce_access_change
from app.core.redis import quick_command, redis
from app.settings import Settings, get_settings


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
    # when the credentials of this sign-in were checked (compared with revocations)
    authenticated_at: float | None = None
    # between the password and the second factor: who, since when, where to go next
    mfa_user_id: str | None = None
    mfa_started_at: float = 0.0
    mfa_next: str = ""
    # the key of the session this one replaced at sign-in (saved only while that one exists)
    replaces: str = ""
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
    session, _ = await load_session_with(sid, settings, ())
    return session


# KEYS: the session; ARGV: key templates over the session's fields ("{visitor_id}"), each
# read in the same round trip (false where the session lacks a field the template names).
# The keys are derived here, so they are not declared: fine on one Valkey, not on a cluster.
_LOAD = """
local raw = redis.call("GET", KEYS[1])
if not raw then return {false} end
local ok, fields = pcall(cjson.decode, raw)
local out = {raw}
for i, template in ipairs(ARGV) do
  local missing = not ok
  local key = string.gsub(template, "{([%w_]+)}", function(name)
    local value = ok and fields[name]
    if type(value) ~= "string" or value == "" then missing = true; return "" end
    return value
  end)
  out[i + 1] = (not missing) and redis.call("GET", key) or false
end
return out
"""
_LOAD_SHA = hashlib.sha1(_LOAD.encode(), usedforsecurity=False).hexdigest()  # EVALSHA


def derived_key(template: str, session: Session) -> str | None:
    """`template` with the session's fields filled in (as `_LOAD` does); None when a field it
    names is empty."""
    fields = {"visitor_id": session.visitor_id, "user_id": session.user_id or ""}
    try:
        key = template.format_map(fields)
    except KeyError:
        return None
    return key if all(fields[name] for name in _names(template)) else None


def _names(template: str) -> list[str]:
    return [part.split("}", 1)[0] for part in template.split("{")[1:]]


async def load_session_with(
    sid: str, settings: Settings, also: Sequence[str]
) -> tuple[Session | None, dict[str, bytes | None]]:
    """The session, and the keys `also` derives from it (templates such as
    "privacy:consent:v:{visitor_id}") by their names, read in ONE round trip (a Lua script):
    what every request needs from Valkey besides its session costs no second one."""
    args = [_key(sid), *also]
    try:
        # the one command of every request: the quick way (app.core.redis.quick_command)
        found: list[bytes | None] = await quick_command("EVALSHA", _LOAD_SHA, 1, *args)
    except NoScriptError:  # a new Valkey, or its script cache flushed
        found = await redis().eval(_LOAD, 1, *args)  # type: ignore[misc]
    raw = found[0] if found else None
    if raw is None:
        return None, {}
    session = _decoder.decode(raw)
    now = time.time()
    idle = settings.session_idle_minutes * 60
    absolute = settings.session_absolute_hours * 3600
    if now - session.last_seen > idle or now - session.created_at > absolute:
        await destroy_session(session)
        return None, {}
    session.dirty = False
    session.is_new = False
    read: dict[str, bytes | None] = {}
    for template, value in zip(also, found[1:], strict=True):
        key = derived_key(template, session)
        if key is not None:
            read[key] = value
    return session, read


# KEYS: session, the user's session index, the user's revocation marker, the replaced session
# ARGV: data, ttl, "1" when new, proof time ("" = none), "1" when signed in
_SAVE = """
if ARGV[3] ~= "1" and redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
if KEYS[4] ~= KEYS[1] and redis.call("EXISTS", KEYS[4]) == 0 then return 0 end
if ARGV[4] ~= "" then
  local revoked = redis.call("GET", KEYS[3])
  if revoked and tonumber(revoked) > tonumber(ARGV[4]) then return 0 end
end
if KEYS[4] ~= KEYS[1] then
  redis.call("DEL", KEYS[4])
  redis.call("SREM", KEYS[2], KEYS[4])
end
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[2])
if ARGV[5] == "1" then
  redis.call("SADD", KEYS[2], KEYS[1])
  redis.call("EXPIRE", KEYS[2], ARGV[2])
end
return 1
"""


def _revoked(user_id: str) -> str:
    return f"user_revoked:{user_id}"


async def save_session(session: Session, settings: Settings) -> bool:
    """Store the session; False when it was revoked meanwhile (then nothing is written)."""
    ttl = settings.session_absolute_hours * 3600
    data = msgspec.structs.replace(session, dirty=False, is_new=False, replaces="")
    key = _key(session.sid)
    user = session.user_id or "-"
    proof = session.authenticated_at if session.is_new and session.user_id else None
    keys_and_args: list[str] = [  # as redis sends them: text (JSON, numbers in decimal)
        key,
        _user_index(user),
        _revoked(user),
        session.replaces or key,
        _encoder.encode(data).decode(),
        str(ttl),
        "1" if session.is_new else "0",
        repr(proof) if proof is not None else "",
        "1" if session.user_id else "0",
    ]
    saved = await redis().eval(_SAVE, 4, *keys_and_args)  # type: ignore[misc]
    session.dirty = False
    session.replaces = ""
    return bool(saved)


async def destroy_session(session: Session) -> None:
    async with redis().pipeline(transaction=True) as pipe:
        pipe.delete(_key(session.sid))
        if session.user_id:
            pipe.srem(_user_index(session.user_id), _key(session.sid))
        await pipe.execute()
    if session.user_id:
        await announce_access_change(session.user_id)


def rotate(session: Session) -> str:
    """Give the session a new id and CSRF token (at sign-in); returns the old id.

    A session that was stored is replaced when the new one is saved, and only if it still
    exists then: a sign-in that races a revocation of its session does not outlive it.
    """
    old = session.sid
    if not session.is_new:
        session.replaces = _key(old)
    session.sid = secrets.token_urlsafe(32)
    session.csrf = secrets.token_urlsafe(32)
    session.created_at = time.time()
    session.dirty = True
    session.is_new = True
    return old


async def destroy_user_sessions(user_id: str, keep_key: str | None = None) -> int:
    """Revoke every session of a user (but `keep_key`); returns how many were revoked.

    The marker makes sign-ins whose credentials were checked before now unsaveable, so a
    login that was in flight (with the old password) cannot slip past the revocation.
    """
    ttl = get_settings().session_absolute_hours * 3600
    await redis().set(_revoked(user_id), repr(time.time()), ex=ttl)
    members: set[bytes] = await redis().smembers(_user_index(user_id))  # type: ignore[misc]
    doomed = [k.decode() for k in members if k.decode() != keep_key]
    if doomed:
        async with redis().pipeline(transaction=True) as pipe:
            pipe.delete(*doomed)
            pipe.srem(_user_index(user_id), *doomed)
            await pipe.execute()
    await announce_access_change(user_id)
    return len(doomed)


async def forget_user(user_id: str) -> int:
    """End every session of a deleted account and drop its revocation marker (no id left)."""
    ended = await destroy_user_sessions(user_id)
    await redis().delete(_revoked(user_id), _user_index(user_id))
    return ended


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
    await announce_access_change(user_id)
    return bool(deleted)
