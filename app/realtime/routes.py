"""The one websocket route: authenticate the session, check Origin, subscribe, keep presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect

from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core.web import SESSION_SCOPE_KEY, cookie_name
from app.realtime import presence
from app.realtime.channels import alerts_channel, board_channel, feed_channel, presence_channel
from app.security import sessions
from app.settings import get_settings

log = logging.getLogger("odex.realtime")

# Close codes (4000-4999 are the application's): the browser's ws extension reconnects on
# its own; these tell a reader of the logs why a socket was refused.
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_UNAUTHENTICATED = 4401
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


async def _authenticate(socket: WebSocket[Any, Any, Any]) -> Current | None:
    session = socket.scope.get(SESSION_SCOPE_KEY)
    if not isinstance(session, sessions.Session) or session.is_new:
        return None
    if not session.user_id or not session.tenant_id:
        return None
    try:
        return await load_current(UUID(session.user_id), UUID(session.tenant_id))
    except ValueError:
        return None


def _place(socket: WebSocket[Any, Any, Any]) -> str | None:
    """`board:<pipeline uuid>` when the page watches a board (its presence list)."""
    raw = socket.query_params.get("board")
    if not raw:
        return None
    try:
        return f"board:{UUID(raw)}"
    except ValueError:
        return None


async def _keep_alive(
    socket: WebSocket[Any, Any, Any], current: Current, place: str | None, socket_id: str
) -> None:
    """Renew presence; close the socket when the session ends (logout, expiry, revocation)."""
    settings = get_settings()
    sid = socket.cookies.get(cookie_name(settings), "")
    while True:
        await asyncio.sleep(presence.HEARTBEAT_SECONDS)
        session = await sessions.load_session(sid, settings) if sid else None
        if (
            session is None
            or session.user_id != str(current.user_id)
            or session.tenant_id != str(current.tenant_id)
        ):
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_UNAUTHENTICATED, reason="session ended")
            return
        if place:
            await presence.heartbeat(
                current.tenant_id, place, socket_id, current.user_id, current.name
            )


def _sender(socket: WebSocket[Any, Any, Any]) -> Callable[[bytes], Awaitable[None]]:
    """Send a fragment; a socket that went away just stops getting them."""

    async def send(data: bytes) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await socket.send_text(data)

    return send


@websocket("/ws")
async def live_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
    """Stream the user's channels as HTML fragments; refuse other origins and anonymous users."""
    if not origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    current = await _authenticate(socket)
    if current is None:
        await socket.close(code=CLOSE_UNAUTHENTICATED, reason="log in first")
        return
    place = _place(socket)
    socket_id = secrets.token_hex(8)
    # Subscribe before accepting, so nothing published after the handshake can be missed.
    # join=False: after a disconnect there is nobody left to drain the queue for.
    async with channels.start_subscription(channels_for(current)) as subscriber:
        await socket.accept()
        await socket.send_text(READY)  # what arrives meanwhile waits in the subscriber's queue
        async with subscriber.run_in_background(_sender(socket), join=False):
            if place:
                await presence.join(
                    current.tenant_id, place, socket_id, current.user_id, current.name
                )
            keeper = asyncio.create_task(_keep_alive(socket, current, place, socket_id))
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


ROUTES = [live_socket]
