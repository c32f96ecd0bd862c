"""The one websocket route: authenticate the session, check Origin, subscribe, keep presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from urllib.parse import urlparse
from uuid import UUID

from litestar import websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core import sessions
from app.core.access import Level
from app.core.access_events import access_channel
from app.core.http_types import Socket
from app.core.web import cookie_name
from app.realtime import presence
from app.realtime.channels import alerts_channel, board_channel, feed_channel, presence_channel
from app.realtime.direct import Direct
from app.realtime.fanout import LiveSocket, fanout_for
from app.settings import get_settings

log = logging.getLogger("odex.realtime")

# Close codes (4000-4999 are the application's): htmx's ws extension does not reconnect on
# these (nothing to reconnect to); they tell a reader of the logs why a socket ended.
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_UNAUTHENTICATED = 4401
# "Service restart": htmx-ext-ws reconnects on it, and the new socket has the new rights.
CLOSE_RECONNECT = 1012
CLOSE_REASONS = {CLOSE_UNAUTHENTICATED: "access ended", CLOSE_RECONNECT: "access changed"}
# First message on every socket: the subscriptions are in place (the page marks itself live).
READY = '<div id="live-status" hx-swap-oob="true" data-live="on" hidden></div>'


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """True for the configured site's origin or the same origin as the request's Host.

    Browsers always send Origin on websocket handshakes; a missing one is refused too, so a
    page on another site can never ride a user's session cookie (cross-site hijacking).
    """
    if not origin:
        return False
    parsed = urlparse(origin)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    base = urlparse(get_settings().base_url)
    if (parsed.scheme, parsed.netloc) == (base.scheme, base.netloc):
        return True
    return bool(host) and parsed.netloc == host


def channels_for(current: Current) -> list[str]:
    """The channels a member may read: their tenant's board/presence, their feed, and alerts
    only for admins and owners."""
    names = [
        board_channel(current.tenant_id),
        feed_channel(current.user_id),
        presence_channel(current.tenant_id),
    ]
    if current.is_admin:
        names.append(alerts_channel(current.tenant_id))
    return names


def _place(socket: Socket) -> str | None:
    """`board:<pipeline uuid>` when the page watches a board (its presence list)."""
    raw = socket.query_params.get("board")
    if not raw:
        return None
    try:
        return f"board:{UUID(raw)}"
    except ValueError:
        return None


async def _rights_now(sid: str, current: Current) -> int | None:
    """Re-check the socket against the session and membership as they are now.

    None: unchanged. CLOSE_UNAUTHENTICATED: the session ended (logout, revoked, password
    changed, account deleted), moved to another workspace, or the membership is gone.
    CLOSE_RECONNECT: the role changed (or the owner-MFA rule now holds them), so the socket's
    channels may be wrong: the browser reconnects and subscribes with the rights it has now.
    """
    settings = get_settings()
    session = await sessions.load_session(sid, settings) if sid else None
    if (
        session is None
        or session.user_id != str(current.user_id)
        or session.tenant_id != str(current.tenant_id)
    ):
        return CLOSE_UNAUTHENTICATED
    now = await load_current(current.user_id, current.tenant_id)
    if now is None:
        return CLOSE_UNAUTHENTICATED
    if now.role != current.role or now.must_enrol_mfa != current.must_enrol_mfa:
        return CLOSE_RECONNECT
    return None


# The rights checks in flight or just done, per session and rights: the sockets of one session
# (its tabs, or a fleet) share one check instead of each reading the session and membership.
_Key = tuple[str, UUID, UUID, str, bool]
_checks: dict[_Key, tuple[float, asyncio.Task[int | None]]] = {}
# a heartbeat's re-check may use a check started this recently (one told of an access change
# only a check started after it was told)
SHARE_HEARTBEAT_CHECK_SECONDS = presence.HEARTBEAT_SECONDS / 2


def _forget(key: _Key, entry: tuple[float, asyncio.Task[int | None]]) -> None:
    if _checks.get(key) is entry:
        del _checks[key]


async def _shared_rights(sid: str, current: Current, started_after: float) -> int | None:
    """`_rights_now`, shared with this process's other sockets of the same session and rights
    when a check of theirs started after `started_after`."""
    key = (sid, current.user_id, current.tenant_id, current.role, current.must_enrol_mfa)
    entry = _checks.get(key)
    if entry is None or entry[0] <= started_after:
        entry = _checks[key] = (time.monotonic(), asyncio.create_task(_rights_now(sid, current)))
        asyncio.get_running_loop().call_later(
            SHARE_HEARTBEAT_CHECK_SECONDS * 2, _forget, key, entry
        )
    return await asyncio.shield(entry[1])


async def _keep_alive(
    socket: Socket,
    current: Current,
    place: str | None,
    socket_id: str,
    member: LiveSocket,
) -> None:
    """Renew presence; re-check the rights at once when told the user's access changed (and
    on every heartbeat, in case that message was lost); close the socket when they changed."""
    sid = socket.cookies.get(cookie_name(get_settings()), "")
    while True:
        try:
            await asyncio.wait_for(member.recheck.wait(), presence.HEARTBEAT_SECONDS)
            started_after = member.woken_at  # told: only a check started since then will do
        except TimeoutError:
            started_after = time.monotonic() - SHARE_HEARTBEAT_CHECK_SECONDS
        member.recheck.clear()
        code = await _shared_rights(sid, current, started_after)
        if code is not None:
            with contextlib.suppress(Exception):
                await socket.close(code=code, reason=CLOSE_REASONS[code])
            return
        if place:
            await presence.heartbeat(
                current.tenant_id, place, socket_id, current.user_id, current.name
            )


@websocket("/ws")
async def live_socket(socket: Socket, channels: ChannelsPlugin, current: Current) -> None:
    """Stream the user's channels as HTML fragments (members only: the access guard refused
    anyone else at the handshake); refuse other origins."""
    if not origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    place = _place(socket)
    socket_id = secrets.token_hex(8)
    # Subscribe before accepting, so nothing published after the handshake can be missed:
    # the process's one subscription per channel hands this socket every push from now on
    # (app/realtime/fanout.py); they wait in its backlog until the ready message is out.
    names = [*channels_for(current), access_channel(current.user_id)]
    member = LiveSocket(socket.send, Direct.of(socket.scope))
    async with fanout_for(channels).subscribed(names, member):
        await socket.accept()
        await socket.send_text(READY)
        member.release()  # what arrived meanwhile waited for the ready message
        if place:
            await presence.join(current.tenant_id, place, socket_id, current.user_id, current.name)
        # a change between the guard's check and the subscription: look once now
        member.wake()
        keeper = asyncio.create_task(_keep_alive(socket, current, place, socket_id, member))
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
        except WebSocketDisconnect:
            pass
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if place:
                await presence.leave(
                    current.tenant_id, place, socket_id, current.user_id, current.name
                )


ROUTES = [routes_at(Level.MEMBER, [live_socket])]
