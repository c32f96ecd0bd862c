"""The bench's end of tests/perf/ws_fleet.py: start a fleet of websocket clients in its own
process, wait for rounds to reach every socket, collect the report."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from typing import Any

import psutil


class FleetProcess:
    """One ws_fleet process; `sockets` is a list of (url, origin, cookie, group)."""

    def __init__(self, sockets: list[tuple[str, str, str, str]], **config: Any) -> None:
        self.config = {"sockets": [list(s) for s in sockets], **config}
        self.proc: asyncio.subprocess.Process | None = None
        self.done: dict[int, asyncio.Event] = {}
        self.opened = asyncio.Event()
        self.open_info: dict[str, Any] = {}
        self.reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None
        # the fleet's stderr (a pipe could fill up unread); closed in close()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    async def start(self, within: float = 300) -> FleetProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.perf.ws_fleet",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.log, limit=2**27, env={**os.environ},
        )  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(self.config) + "\n").encode())
        await self.proc.stdin.drain()
        self.reader = asyncio.create_task(self._read())
        opened = asyncio.create_task(self.opened.wait())
        ended = asyncio.create_task(self.proc.wait())
        await asyncio.wait({opened, ended}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        ended.cancel()
        if not self.opened.is_set():
            raise RuntimeError(f"the fleet did not open its sockets: {await self._stderr()}")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    async def _stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            data = json.loads(line)
            if data["event"] == "open":
                self.open_info = data
                self.opened.set()
            elif data["event"] == "done":
                self.event(int(data["key"])).set()
            elif data["event"] == "report":
                await self.reports.put(data)

    def event(self, key: int) -> asyncio.Event:
        return self.done.setdefault(key, asyncio.Event())

    async def wait_done(self, key: int, within: float = 60) -> None:
        """Until every socket has the message of round `key`."""
        await asyncio.wait_for(self.event(key).wait(), within)

    async def report(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"report\n")
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self.reports.get(), 120)

    async def close(self) -> None:
        try:
            if self.proc is not None and self.proc.returncode is None:
                assert self.proc.stdin is not None
                try:
                    self.proc.stdin.write(b"close\n")
                    await self.proc.stdin.drain()
                    await asyncio.wait_for(self.proc.wait(), 60)
                except (TimeoutError, ConnectionError):
                    self.proc.kill()
                    await self.proc.wait()
        finally:
            if self.reader is not None:
                self.reader.cancel()
            self.log.close()
