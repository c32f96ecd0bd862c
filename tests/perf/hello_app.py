"""The P2 floor: a Litestar hello-world served exactly like the app (uvicorn, one process)."""

from __future__ import annotations

from litestar import Litestar, MediaType, get


@get("/", media_type=MediaType.HTML)
async def hello() -> str:
    return "<!doctype html><title>hello</title><p>Hello, world</p>"


app = Litestar(route_handlers=[hello])
