"""The P1 floor: a bare `websockets` server that broadcasts whatever its control socket sends.

Usage: python -m tests.perf.bare_broadcast PORT [deflate]

Its sockets compress (permessage-deflate) only with `deflate`: the bench passes it when the
app's live sockets do (LIVE_COMPRESSION), so both sides of P1 send the same frames. It runs on
uvloop, as `odex serve` does (the floor is the fastest bare broadcast of the same stack).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from websockets.asyncio.server import broadcast, serve

CLIENTS: set[Any] = set()


async def handler(ws: Any) -> None:
    if ws.request.path == "/control":
        async for message in ws:
            broadcast(CLIENTS, message)
        return
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


async def main(port: int, deflate: bool) -> None:
    compression = "deflate" if deflate else None
    async with serve(handler, "127.0.0.1", port, max_size=2**22, compression=compression):
        await asyncio.Future()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1]), sys.argv[2:] == ["deflate"]))
