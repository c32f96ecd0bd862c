"""Live sockets across a Valkey outage: a pub/sub backend that reconnects and resubscribes by
itself, and the registry of this process's open sockets, closed when pushes were lost.

Litestar's Redis pub/sub listener dies for good on a lost connection (and polls every
millisecond while alive). Ours keeps the set of wanted channels, and when the connection breaks
it closes every open socket with 1013 ("try again later": htmx's ws extension reconnects on
1006/1011/1012/1013), then reconnects with backoff and subscribes again. Pushes published
meanwhile are lost, so the browser fetches the regions it shows after every reconnect
(static/js/app.js, `odex:resync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Iterable

from litestar.channels.backends.base import ChannelsBackend
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from app.core.availability import REDIS_DOWN
from app.core.redis import client_options

log = logging.getLogger("odex.realtime")

CLOSE_TRY_AGAIN = 1013  # RFC 6455 "Try Again Later": the browser reconnects
RECONNECT_MAX_SECONDS = 5.0
# accepted sockets of this process: their ASGI `send` and when they opened
_open: dict[Send, float] = {}


def socket_registry_middleware(app: ASGIApp) -> ASGIApp:
    """Remember every accepted websocket (at the ASGI level, whatever route serves it) until it
    closes, so that an outage can close them all."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "websocket":
            await app(scope, receive, send)
            return

        async def tracking_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                _open[send] = time.monotonic()
            elif (
                message["type"] == "websocket.close"
                and _open.pop(send, None) is None
                and send in _closed
            ):
                return  # we closed it already; the handler's own close is a no-op
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        finally:
            _open.pop(send, None)
            _closed.discard(send)

    return middleware


_closed: set[Send] = set()


def open_sockets() -> int:
    return len(_open)


async def close_all(code: int = CLOSE_TRY_AGAIN, opened_before: float | None = None) -> int:
    """Close this process's sockets (those opened before `opened_before`, if given) so that the
    browsers reconnect and fetch what they missed; returns how many were closed."""
    victims = [s for s, at in list(_open.items()) if opened_before is None or at < opened_before]
    for send in victims:
        _open.pop(send, None)
        _closed.add(send)
        with contextlib.suppress(Exception):  # already closing or gone: nothing to tell it
            await send({"type": "websocket.close", "code": code, "reason": "reconnect"})
    return len(victims)


class ResilientPubSubBackend(ChannelsBackend):
    """Redis pub/sub for the channels plugin that survives Valkey restarts."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._wanted: set[str] = set()
        self._listening: asyncio.Event | None = None
        self._broken: float | None = None  # when the connection broke (None: it works)
        # one (un)subscribe at a time: redis-py's PubSub opens its connection on the first
        # command, and concurrent first commands would each open one (all but one unread)
        self._lock: asyncio.Lock | None = None
        self.outages = 0  # how many times the connection broke (tests, logs)

    def _redis(self) -> Redis:
        if self._client is None:  # made lazily, inside the app's running loop
            self._client = Redis.from_url(self._url, **client_options())
        return self._client

    def _event(self) -> asyncio.Event:
        if self._listening is None:
            self._listening = asyncio.Event()
        return self._listening

    async def on_startup(self) -> None:
        return None

    async def on_shutdown(self) -> None:
        await self._drop()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    def _serial(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def subscribe(self, channels: Iterable[str]) -> None:
        names = set(channels)
        self._wanted |= names
        async with self._serial():
            if self._pubsub is None:
                self._pubsub = self._redis().pubsub()
            try:
                await self._pubsub.subscribe(*names)
                self._event().set()
            except REDIS_DOWN as exc:  # the listener reconnects and subscribes to all of them
                log.warning("subscribe failed (Valkey unreachable): %s", exc)
                self._broken = self._broken or time.monotonic()
                self._event().set()

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        names = set(channels)
        self._wanted -= names
        async with self._serial():
            if self._pubsub is not None:
                with contextlib.suppress(*REDIS_DOWN):
                    await self._pubsub.unsubscribe(*names)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with self._redis().pipeline(transaction=False) as pipe:
            for channel in set(channels):
                pipe.publish(channel, data)
            await pipe.execute()

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("pub/sub keeps no history")

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._event().clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _resubscribe(self) -> None:
        """A fresh connection subscribed to every channel a socket here still wants."""
        async with self._serial():
            await self._drop()
            self._pubsub = self._redis().pubsub()
            if self._wanted:
                await self._pubsub.subscribe(*self._wanted)
                self._event().set()

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        delay = 0.25
        announced = False  # the sockets were closed for the current outage
        while True:
            try:
                if self._broken is not None:
                    await self._resubscribe()
                    self._broken, delay, announced = None, 0.25, False
                    log.warning("pub/sub back: resubscribed %d channels", len(self._wanted))
                    # sockets that opened while we were away may have missed pushes too
                    await close_all(opened_before=time.monotonic())
                await self._event().wait()
                if self._pubsub is None or self._broken is not None:
                    continue
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except Exception as exc:  # the listener must never die (Litestar's does)
                if not isinstance(exc, REDIS_DOWN):
                    log.exception("pub/sub listener error: reconnecting")
                self._broken = self._broken or time.monotonic()
                if not announced:
                    announced = True
                    self.outages += 1
                    closed = await close_all()
                    log.warning("pub/sub lost (%s): closed %d sockets, reconnecting", exc, closed)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            if channel in self._wanted:
                yield channel, message["data"]
