"""Browser-test fixtures: the real app (web + worker processes) and headless Debian Chromium."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the app process exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


HEALTH_KEY = "arq:queue:health-check"


def _wait_until_idle(queue: Any, worker: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Wait until the new worker has run its start-up jobs: the sweeps that visit every
    workspace of the session's (by now large) database, and anything earlier tests left
    queued. Until then the browser tests' own jobs (mail, billing events) wait behind them,
    and a page waiting for one of them can run out of time."""
    deadline = time.monotonic() + timeout
    while queue.get(HEALTH_KEY) is None:  # its first poll enqueues the start-up jobs
        if worker.poll() is not None:
            raise RuntimeError("the worker process exited during start-up")
        if time.monotonic() > deadline:
            raise RuntimeError("the worker never polled its queue")
        time.sleep(0.05)
    idle_since: float | None = None
    while True:
        due = queue.zcount("arq:queue", "-inf", time.time() * 1000)
        now = time.monotonic()
        if due:  # a job stays in the queue until it has finished
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since > 1.0:  # two polls of the worker (0.5 s) found nothing to do
            return
        if now > deadline:
            raise RuntimeError("the worker's start-up jobs did not finish")
        time.sleep(0.05)


class LiveServer:
    """`odex serve` and `odex worker` as subprocesses against the test services."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # the daily backup is tested in tests/ops; a browser-test worker must not take one
        self.env = {**os.environ, **env, "BASE_URL": self.url, "BACKUP_HOUR": "24"}
        self.procs: list[subprocess.Popen[bytes]] = []

    def _web(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart_web(self, while_down: Any = None) -> None:
        """SIGTERM the web process (graceful: its sockets close with 1012), optionally do
        something while it is down, then start it again on the same port."""
        self.procs[0].terminate()
        self.procs[0].wait(30)
        if while_down is not None:
            while_down()
        self.procs[0] = self._web()
        _wait_for(self.port, self.procs[0])

    def start(self) -> LiveServer:
        import redis

        queue = redis.Redis.from_url(self.env["REDIS_URL"])
        queue.delete(HEALTH_KEY)  # set again by the new worker's first poll
        web = self._web()
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs = [web, worker]
        try:
            _wait_for(self.port, web)
            _wait_until_idle(queue, worker)
        except BaseException:  # none left running (every later test tries the set-up again)
            self.stop()
            raise
        finally:
            queue.close()
        return self

    def stop(self) -> None:
        """SIGTERM both, give them 10 s together (not one after the other: a worker in the
        middle of a sweep over the session's database may take all of it), then kill."""
        for proc in self.procs:
            proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture(scope="session")
def live_server(services: dict[str, str]) -> Iterator[LiveServer]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `make test` installs it (make browser)")
    server = LiveServer(services).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser(live_server: LiveServer) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


async def wait_for_mail(mailbox: Any, address: str, path: str, within: float = 20) -> str:
    """The link the worker mailed (the real worker process drains the outbox)."""
    import asyncio

    deadline = time.monotonic() + within
    while True:
        try:
            return str(mailbox.last_link(address, path))
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def idle(page: Any, within: float = 10) -> None:
    """Wait until htmx has no request in flight (what a page loads after itself: the alert
    shield, the bell). Much quicker than Playwright's "networkidle" (500 ms of silence), and
    works under the app's CSP (no string evaluated in the page)."""
    for _ in range(int(within / 0.05)):
        if not await page.locator(".htmx-request").count():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"htmx still busy on {page.url} after {within} s")
