"""The floor of the page benches: a Litestar hello-world served exactly like the app.

`python -m tests.perf.hello_app serve --port P` runs the real `odex serve` (app/cli.py: the
same server, worker count and flags as the app under test) with the app factory swapped for
this hello-world, so a change to how the app is served changes the floor too.
"""

from __future__ import annotations

import sys

from litestar import Litestar, MediaType, get

BODY = "<!doctype html><title>hello</title><p>Hello, world</p>"


@get("/", media_type=MediaType.HTML)
async def hello() -> str:
    return BODY


def create_app() -> Litestar:
    """The hello-world app (a factory, like app.asgi.create_app)."""
    return Litestar(route_handlers=[hello])


def main(argv: list[str]) -> None:
    import app.asgi
    from app import cli

    # `odex serve` names its factory as "app.asgi:create_app"; uvicorn resolves that string
    # against the already imported module, so it finds this factory instead.
    app.asgi.create_app = create_app  # type: ignore[assignment]
    cli.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
