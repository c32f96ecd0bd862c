"""A push written once (app/realtime/direct.py): behind uvicorn's websockets sans-I/O protocol
— the server `odex serve` runs — the frame serialised once reaches the browser exactly as the
ordinary `send` would frame it, and the direct write steps aside whenever it would not be the
same: a compressing socket, a transport paused by a slow reader, a closed socket, or a server
that is not uvicorn's sans-I/O one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from websockets.asyncio.client import connect

from app.realtime.direct import Direct, frame_of, keep_raw_send
from tests.realtime.servers import free_port

TEXT = '<div id="deal-1" hx-swap-oob="true">Ünïcode € and a long card</div>' * 40


class Probe:
    """An ASGI app that accepts a socket and hands the test its scope and `send`."""

    def __init__(self) -> None:
        self.ready: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
        self.done = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        self.ready.set_result((scope, send))
        await self.done.wait()


@contextlib.asynccontextmanager
async def served(probe: Probe, *, deflate: bool) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        keep_raw_send(probe), host="127.0.0.1", port=port, ws="websockets-sansio",
        ws_per_message_deflate=deflate, log_level="warning", lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn says it listens only by this flag
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        probe.done.set()
        server.should_exit = True
        await task


async def test_the_shared_frame_arrives_as_the_ordinary_send_frames_it() -> None:
    probe = Probe()
    async with (
        served(probe, deflate=False) as port,
        connect(f"ws://127.0.0.1:{port}/ws") as ws,  # it offers deflate, as browsers do
    ):
        scope, send = await probe.ready
        direct = Direct.of(scope)
        assert direct is not None
        await send({"type": "websocket.send", "text": TEXT, "bytes": None})
        assert direct.write(frame_of(TEXT + "!"))
        assert await ws.recv() == TEXT
        assert await ws.recv() == TEXT + "!"  # same text, same order, one frame
        # a transport paused by a slow reader: the ordinary send (which waits) takes it
        direct.protocol.pause_writing()
        assert not direct.write(frame_of("paused"))
        direct.protocol.resume_writing()
        assert direct.write(frame_of("resumed"))
        assert await ws.recv() == "resumed"
        await send({"type": "websocket.close", "code": 1000})
        assert not direct.write(frame_of("after close"))  # never after a close frame


async def test_a_compressing_socket_takes_the_ordinary_send() -> None:
    probe = Probe()
    async with served(probe, deflate=True) as port, connect(f"ws://127.0.0.1:{port}/ws"):
        scope, _ = await probe.ready
        direct = Direct.of(scope)
        assert direct is not None and not direct.write(frame_of(TEXT))


def test_without_the_servers_send_there_is_no_direct_path() -> None:
    async def other_send(message: Any) -> None: ...

    assert Direct.of({"type": "websocket"}) is None  # type: ignore[typeddict-item]
    assert Direct.of({"type": "websocket", "odex.raw_send": other_send}) is None  # type: ignore[typeddict-unknown-key]
