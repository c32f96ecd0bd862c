"""A push written once: the fan-out serialises a channel message into one websocket frame and
writes those bytes to every local socket's transport, instead of building and framing the same
message again per socket through the ASGI `send` chain.

This is what uvicorn's websockets sans-I/O protocol does for a `websocket.send` (frame the text
with websockets' own `Frame.serialize`, write the bytes to the transport), done once per
message. It is taken only when that equivalence holds for the socket right now: the handshake
is done, nothing closed, no extension negotiated (permessage-deflate would compress per
socket; see LIVE_COMPRESSION), no fragmented message in progress, nothing queued in the
protocol, and the transport not paused (a browser that reads too slowly goes through the
ordinary `send`, which waits for it, in its own task). Anything else — the test client, another
server, a changed uvicorn — has no `Direct` and takes the ordinary path.

`odex serve` runs `create_served_app()`, which hands each websocket scope uvicorn's own `send`
under RAW_SEND (Litestar wraps the `send` its handlers see).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.types import ASGIApp, Receive, Scope, Send
from websockets.frames import Frame, Opcode
from websockets.protocol import State

if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

RAW_SEND = "odex.raw_send"  # scope key: the server's own ASGI send of a websocket


def keep_raw_send(app: ASGIApp) -> ASGIApp:
    """Put the server's `send` of every websocket scope under RAW_SEND, then run `app`."""

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) == "websocket":
            scope[RAW_SEND] = send  # type: ignore[literal-required]
        await app(scope, receive, send)

    return served


def frame_of(text: str) -> bytes:
    """`text` as one unmasked, uncompressed, final text frame (what a server sends)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


class Direct:
    """One socket's uvicorn protocol, written to directly while that is what `send` would do."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self.protocol = protocol

    @classmethod
    def of(cls, scope: Scope) -> Direct | None:
        """The socket's protocol when uvicorn's websockets sans-I/O protocol serves it."""
        send = scope.get(RAW_SEND)
        protocol = getattr(send, "__self__", None)
        needed = (
            "conn", "transport", "writable", "handshake_complete", "close_sent", "disconnected",
            "initial_response",
        )  # fmt: skip
        if protocol is None or not all(hasattr(protocol, name) for name in needed):
            return None
        if not all(hasattr(protocol.conn, n) for n in ("expect_continuation_frame", "writes")):
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write the serialised frame if `send` would do exactly that now; False otherwise
        (the caller sends the message the ordinary way)."""
        p = self.protocol
        conn = p.conn
        if not (
            p.writable.is_set()
            and p.handshake_complete
            and not p.close_sent
            and not p.disconnected
            and p.initial_response is None
            and conn.state is State.OPEN
            and not conn.extensions
            and not conn.expect_continuation_frame
            and not conn.writes
            and not p.transport.is_closing()
        ):
            return False
        p.transport.write(frame)
        return True
