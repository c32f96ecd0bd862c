"""One subscription per channel per process, fanned out to this process's sockets.

A push to a channel is decoded once and handed, as one shared ASGI message (and, where the
socket allows, as one websocket frame written straight out: app/realtime/direct.py), to every
local socket of that channel from a single task: no queue, task or wake-up per socket. uvicorn's
`send` normally finishes without suspending (it only waits while the socket's transport is
paused, i.e. the browser reads too slowly), so each send is stepped right there; a send that
does suspend is finished in a task of that socket alone, and what arrives for it meanwhile
waits in its own bounded backlog (the oldest dropped past MAX_BACKLOG), so a slow browser
neither stalls the others nor grows the process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.types import Message, Send, WebSocketSendEvent

from app.core.access_events import ACCESS_CHANGED
from app.realtime.direct import Direct, frame_of

log = logging.getLogger("odex.realtime")

# a slow browser must not hold the process's memory: keep its newest 500 messages
MAX_BACKLOG = 500
# A socket whose send fails (it went away: Litestar's WebSocketDisconnect, uvicorn's
# ClientDisconnected or RuntimeError after a close) just stops getting pushes; whatever it
# raised must never reach the channel's task, which serves every other socket too.
_GONE = (Exception,)


Step = Generator[Any, None, None]  # a started send: what `await` drives


async def _finish(step: Step, waiting: Any) -> None:
    """Run a send that suspended on `waiting` (the future it yielded) to its end."""
    try:
        while True:
            if waiting is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False  # as asyncio.Task does
                await asyncio.wait([waiting])  # the send reads the result (or error) itself
            waiting = step.send(None)
    except StopIteration:
        return
    finally:
        step.close()  # cancelled meanwhile: end the send too (a no-op once it finished)


class LiveSocket:
    """One accepted socket as the fan-out sees it: its ASGI `send`, the event that wakes its
    rights re-check, and the messages waiting while a send to it is suspended."""

    __slots__ = (
        "backlog", "direct", "dropped", "gone", "held", "recheck", "send", "woken_at", "writer",
    )  # fmt: skip

    def __init__(self, send: Send, direct: Direct | None = None) -> None:
        self.send = send
        self.direct = direct  # write a push's shared frame straight out (app/realtime/direct)
        self.recheck = asyncio.Event()  # set: re-check the rights now
        self.woken_at = 0.0  # when it was last set (time.monotonic)
        self.backlog: deque[Message] = deque(maxlen=MAX_BACKLOG)
        self.writer: asyncio.Task[None] | None = None
        self.held = True  # until release(): the page's first message goes out first
        self.gone = False
        self.dropped = 0  # messages the backlog dropped (tests, logs)

    def wake(self, at: float | None = None) -> None:
        """Re-check the socket's rights now (told at `at`: the user's access changed)."""
        self.woken_at = time.monotonic() if at is None else at
        self.recheck.set()

    def push(self, message: Message, frame: SharedFrame | None = None) -> None:
        """Send now if nothing is waiting for this socket; else queue behind what is. `frame`
        is the message serialised once for every socket of the channel."""
        if self.gone:
            return
        if self.held or self.writer is not None:
            if len(self.backlog) == MAX_BACKLOG:
                self.dropped += 1
            self.backlog.append(message)
            return
        if frame is not None and self.direct is not None and self.direct.write(frame.bytes):
            return
        step = self.send(message).__await__()
        try:
            waiting = step.send(None)
        except StopIteration:
            return
        except _GONE:
            self.gone = True
            return
        self.writer = asyncio.get_running_loop().create_task(self._write(step, waiting))

    def release(self) -> None:
        """The socket is accepted and has its first message: send what arrived meanwhile."""
        self.held = False
        if self.backlog and self.writer is None and not self.gone:
            self.writer = asyncio.get_running_loop().create_task(self._write(None, None))

    async def _write(self, step: Step | None, waiting: Any) -> None:
        """Finish the suspended send, then send the backlog in order, then go back to the
        direct path."""
        try:
            if step is not None:
                await _finish(step, waiting)
            while self.backlog and not self.gone:
                await self.send(self.backlog.popleft())
        except _GONE:
            self.gone = True
        finally:
            self.writer = None

    async def close(self) -> None:
        self.gone = True
        self.backlog.clear()
        writer = self.writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_GONE):
                await writer


class _Channel:
    __slots__ = ("members", "ready", "subscriber", "task")

    def __init__(self) -> None:
        self.members: set[LiveSocket] = set()
        self.ready = asyncio.Event()  # the process is subscribed (Valkey acknowledged)
        self.subscriber: Subscriber | None = None
        self.task: asyncio.Task[None] | None = None

    def deliver(self, data: bytes) -> None:
        if data == ACCESS_CHANGED:  # not for the browser: wakes the rights re-check
            now = time.monotonic()
            for member in self.members:
                member.wake(now)
            return
        message: WebSocketSendEvent = {
            "type": "websocket.send",
            "text": data.decode(),
            "bytes": None,
        }
        frame = SharedFrame(message["text"] or "")
        for member in tuple(self.members):  # a send may end a socket (and its membership)
            member.push(message, frame)


class SharedFrame:
    """A channel message's websocket frame, serialised on first use (once per message)."""

    __slots__ = ("_bytes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._bytes: bytes | None = None

    @property
    def bytes(self) -> bytes:
        if self._bytes is None:
            self._bytes = frame_of(self.text)
        return self._bytes


class Fanout:
    """This process's sockets by channel, over one plugin subscriber per channel."""

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self._plugin = plugin
        self._channels: dict[str, _Channel] = {}

    def members(self, name: str) -> int:
        channel = self._channels.get(name)
        return len(channel.members) if channel else 0

    async def _pump(self, name: str, channel: _Channel) -> None:
        subscriber = await self._plugin.subscribe([name])
        channel.subscriber = subscriber
        channel.ready.set()
        async for data in subscriber.iter_events():
            try:
                channel.deliver(data)
            except Exception:  # the channel's task must outlive any one message
                log.exception("fan-out of a %s message failed", name.split(":", 1)[0])

    async def _join(self, names: Iterable[str], member: LiveSocket) -> list[str]:
        joined: list[str] = []
        for name in names:
            channel = self._channels.get(name)
            if channel is None:
                channel = self._channels[name] = _Channel()
                channel.task = asyncio.get_running_loop().create_task(self._pump(name, channel))
            channel.members.add(member)
            joined.append(name)
        for name in joined:
            channel = self._channels[name]
            if not channel.ready.is_set():
                task = channel.task
                assert task is not None
                await asyncio.wait(
                    [task, asyncio.ensure_future(channel.ready.wait())],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if task.done():  # subscribing failed: let the handler fail as before
                    task.result()
        return joined

    async def _leave(self, names: Iterable[str], member: LiveSocket) -> None:
        await member.close()
        for name in names:
            channel = self._channels.get(name)
            if channel is None:
                continue
            channel.members.discard(member)
            if channel.members:
                continue
            del self._channels[name]
            if channel.task is not None:
                channel.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await channel.task
            if channel.subscriber is not None:
                await self._plugin.unsubscribe(channel.subscriber)

    @contextlib.asynccontextmanager
    async def subscribed(self, names: Iterable[str], member: LiveSocket) -> AsyncGenerator[None]:
        """Subscribe `member` to `names` (in place when this returns); unsubscribe on exit."""
        wanted = list(dict.fromkeys(names))
        try:
            await self._join(wanted, member)
            yield
        finally:
            await self._leave(wanted, member)


_fanouts: weakref.WeakKeyDictionary[ChannelsPlugin, Fanout] = weakref.WeakKeyDictionary()


def fanout_for(plugin: ChannelsPlugin) -> Fanout:
    """The fan-out over `plugin` (one per app; a process normally has one)."""
    fanout = _fanouts.get(plugin)
    if fanout is None:
        fanout = _fanouts[plugin] = Fanout(plugin)
    return fanout
