"""The per-process fan-out (app/realtime/fanout.py): one push, decoded once, reaches every
local socket of its channel in order; a slow socket neither stalls the others nor keeps more
than MAX_BACKLOG messages; a socket that went away just stops getting pushes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected

from app.core.access_events import ACCESS_CHANGED
from app.realtime.fanout import MAX_BACKLOG, LiveSocket, _Channel


class Browser:
    """The ASGI `send` of one socket: records texts; `stall()` makes sends wait (a browser
    that stopped reading: uvicorn's send waits while the transport is paused)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.gone: Exception | None = None

    async def send(self, message: Any) -> None:
        await self.open.wait()
        if self.gone is not None:
            raise self.gone
        self.texts.append(message["text"])


def _members(channel: _Channel, *browsers: Browser) -> list[LiveSocket]:
    sockets = [LiveSocket(b.send) for b in browsers]
    channel.members.update(sockets)
    return sockets


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pushes_wait_for_the_ready_message_then_arrive_in_order() -> None:
    channel, browser = _Channel(), Browser()
    (socket,) = _members(channel, browser)
    channel.deliver(b"one")
    channel.deliver(b"two")
    assert browser.texts == []  # held: the ready message goes first
    browser.texts.append("READY")
    socket.release()
    channel.deliver(b"three")
    await _settle()
    assert browser.texts == ["READY", "one", "two", "three"]
    assert socket.writer is None  # back on the direct path


async def test_a_slow_socket_stalls_nobody_and_keeps_only_its_newest_backlog() -> None:
    channel, fast, slow = _Channel(), Browser(), Browser()
    sockets = _members(channel, fast, slow)
    for socket in sockets:
        socket.release()
    slow.open.clear()  # stopped reading
    total = MAX_BACKLOG + 50
    for n in range(total):
        channel.deliver(f"m{n}".encode())
    # the fast socket got every push at once, without a task or a wait
    assert fast.texts == [f"m{n}" for n in range(total)]
    slow_socket = next(s for s in sockets if s.send == slow.send)
    assert len(slow_socket.backlog) == MAX_BACKLOG  # bounded: the oldest were dropped
    assert slow_socket.dropped == total - 1 - MAX_BACKLOG
    slow.open.set()  # reads again
    await _settle()
    for _ in range(100):
        if slow_socket.writer is None:
            break
        await asyncio.sleep(0.01)
    # the send in flight, then the newest MAX_BACKLOG, in order
    assert slow.texts == ["m0"] + [f"m{n}" for n in range(total - MAX_BACKLOG, total)]
    channel.deliver(b"after")
    assert slow.texts[-1] == "after" and fast.texts[-1] == "after"


@pytest.mark.parametrize(
    "error",
    [
        WebSocketDisconnect(detail="gone"),  # Litestar, after the handler saw the disconnect
        ClientDisconnected(),  # uvicorn
        RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'"),
    ],
)
async def test_a_socket_that_went_away_stops_getting_pushes_and_the_rest_carry_on(
    error: Exception,
) -> None:
    channel, alive, dead = _Channel(), Browser(), Browser()
    sockets = _members(channel, alive, dead)
    for socket in sockets:
        socket.release()
    dead.gone = error
    channel.deliver(b"one")
    channel.deliver(b"two")
    assert alive.texts == ["one", "two"] and dead.texts == []
    assert next(s for s in sockets if s.send == dead.send).gone


async def test_access_changed_wakes_the_recheck_and_is_never_sent() -> None:
    channel, browser = _Channel(), Browser()
    (socket,) = _members(channel, browser)
    socket.release()
    channel.deliver(ACCESS_CHANGED)
    assert socket.recheck.is_set() and socket.woken_at > 0
    assert browser.texts == []
