"""Real app processes for the realtime tests and benchmarks (`python -m app.cli serve`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

from tests.helpers import BrowserClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebProcess:
    """One `odex serve` process on a free port with the test services' environment."""

    def __init__(self, env: dict[str, str], *, quiet: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.env = {**os.environ, **env, "BASE_URL": self.url}
        self.quiet = quiet
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WebProcess:
        out = subprocess.DEVNULL if self.quiet else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=out,
            stderr=out,
        )
        return self

    def wait_ready(self, timeout: float = 120) -> None:  # a loaded machine starts slowly
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the app process exited during start-up")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {self.port}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_many(env: dict[str, str], count: int) -> list[WebProcess]:
    """`count` ready processes; if one never gets ready, all are stopped (none left running,
    a session fixture whose set-up fails is tried again by every later test)."""
    procs = [WebProcess(env).start() for _ in range(count)]
    try:
        for proc in procs:
            proc.wait_ready()
    except BaseException:
        for proc in procs:  # none outlives a failed start
            proc.stop()
        raise
    return procs


def session_cookie(client: BrowserClient) -> str:
    """The Cookie header of a logged-in test client (sessions live in the shared Valkey)."""
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def connect(
    server: WebProcess, cookie: str | None, origin: str | None = "same", query: str = ""
) -> Any:
    """A websocket to `server` as a browser would open it; waits for the ready message."""
    from websockets.asyncio.client import connect as ws_connect

    headers = {"Cookie": cookie} if cookie else {}
    socket_origin = server.url if origin == "same" else origin
    ws = await ws_connect(
        server.ws_url + query,
        additional_headers=headers,
        origin=socket_origin,  # type: ignore[arg-type]
        max_size=2**22,
        open_timeout=10,
    )
    ready = await ws.recv()
    assert 'id="live-status"' in str(ready)
    return ws
