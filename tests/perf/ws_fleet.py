"""A fleet of websocket clients in its own process (uvloop when installed), so the sockets of
P1 and the soak are read by a client that does nothing else, the same for the app and for its
floor. Driven over stdin/stdout with JSON lines (tests/perf/fleet.py is the other end).

stdin, first line: {"sockets": [[url, origin, cookie, group], ...], "ready": text of the first
message each socket must get ("" for none), "marker": a regex whose group 1 is a round number
("" = each message's ordinal on its socket), "count": text a counted message contains ("" =
every message), "rounds": false to keep only per-socket counts (no arrival times)}. Then
commands: "report" (print what arrived) and "close".

stdout: {"event": "open", ...} once every socket is open (and has its ready message), then
{"event": "done", "key": k} as soon as every socket has the message of round k, and
{"event": "report", ...} on request: arrival times per round (time.perf_counter, the system's
monotonic clock, the same in every process), per-socket counts, errors, this process's CPU.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from typing import Any

from websockets.asyncio.client import connect

OPEN_AT_ONCE = 50


class Fleet:
    def __init__(self, config: dict[str, Any]) -> None:
        self.specs: list[list[str]] = config["sockets"]
        self.ready: str = config.get("ready", "")
        marker = config.get("marker", "")
        self.marker = re.compile(marker) if marker else None
        self.count_text: str = config.get("count", "")
        self.rounds: bool = config.get("rounds", True)
        self.open_at_once: int = config.get("open_at_once", OPEN_AT_ONCE)
        self.sockets: list[Any] = []
        self.counts = [0] * len(self.specs)
        self.keys: list[set[int]] = [set() for _ in self.specs]
        self.arrivals: dict[int, list[float]] = {}
        self.errors: list[str] = []
        self.closing = False
        self.last = ""  # the last counted message (P1's floor broadcasts the same bytes)

    async def open(self) -> None:
        gate = asyncio.Semaphore(self.open_at_once)

        async def one(spec: list[str]) -> Any:
            url, origin, cookie, _group = spec
            async with gate:
                ws = await connect(
                    url,
                    additional_headers={"Cookie": cookie} if cookie else {},
                    origin=origin,  # type: ignore[arg-type]
                    max_size=2**22,
                    open_timeout=120,
                    max_queue=None,  # never stop reading because a queue is full
                )
                if self.ready:
                    first = await asyncio.wait_for(ws.recv(), 60)
                    if self.ready not in str(first):
                        raise RuntimeError(f"unexpected first message: {str(first)[:200]}")
                return ws

        self.sockets = list(await asyncio.gather(*(one(spec) for spec in self.specs)))

    def _key(self, message: str, index: int) -> int | None:
        if self.count_text and self.count_text not in message:
            return None
        if self.marker is None:
            return self.counts[index]
        found = self.marker.search(message)
        return int(found.group(1)) if found else None

    async def read(self, index: int, ws: Any) -> None:
        total = len(self.sockets)
        try:
            async for message in ws:
                now = time.perf_counter()
                text = message if isinstance(message, str) else message.decode()
                key = self._key(text, index)
                if key is None:
                    continue
                self.counts[index] += 1
                self.last = text
                if not self.rounds:
                    continue
                self.keys[index].add(key)
                times = self.arrivals.setdefault(key, [])
                times.append(now)
                if len(times) == total:
                    emit({"event": "done", "key": key})
        except Exception as exc:  # a socket that fails is reported, never silently dropped
            if not self.closing:
                self.errors.append(f"socket {index}: {type(exc).__name__}: {exc}"[:300])
            return
        if not self.closing:
            self.errors.append(f"socket {index} closed by the server: {ws.close_code}")

    def report(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "event": "report",
            "arrivals": {str(k): v for k, v in self.arrivals.items()},
            "counts": self.counts,
            "groups": [spec[3] for spec in self.specs],
            "missing_keys": self._missing(),
            "errors": self.errors[:20],
            "error_count": len(self.errors),
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "last_message": self.last,
        }

    def _missing(self) -> int:
        """Socket-rounds not received: rounds some socket had that another socket lacks."""
        every = set().union(*self.keys) if self.keys else set()
        return sum(len(every - seen) for seen in self.keys)


def emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    fleet = Fleet(json.loads(await stdin.readline()))
    started = time.perf_counter()
    await fleet.open()
    emit({"event": "open", "sockets": len(fleet.sockets), "seconds": time.perf_counter() - started})
    readers = [asyncio.create_task(fleet.read(i, ws)) for i, ws in enumerate(fleet.sockets)]
    while line := (await stdin.readline()).decode().strip():
        if line == "report":
            emit(fleet.report())
        elif line == "close":
            break
    fleet.closing = True
    await asyncio.gather(*(ws.close() for ws in fleet.sockets), return_exceptions=True)
    for task in readers:
        task.cancel()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
