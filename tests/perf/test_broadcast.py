"""P1 (deal move -> fragment on every socket, 1,000 sockets over two app processes, against a
bare `websockets` broadcast of the same bytes) and P2 (board page with 200 deals, requests/s,
against a Litestar hello-world served the same way). Run by `make bench`."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.deals.helpers import make_deal, stages
from tests.helpers import Account
from tests.perf.report import percentile, report
from tests.realtime.servers import WebProcess, free_port, session_cookie, start_many

SOCKETS = int(os.environ.get("BENCH_SOCKETS", "1000"))
MOVES = int(os.environ.get("BENCH_MOVES", "30"))
BOARD_DEALS = 200
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
CONCURRENCY = 16


def _spawn(args: list[str], services: dict[str, str]) -> subprocess.Popen[bytes]:
    """A helper server process with the test services' environment (output discarded)."""
    return subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **services},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * SOCKETS + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Fleet:
    """Many websocket clients that time-stamp the arrival of each round's message."""

    def __init__(self, marker: Any) -> None:
        self.marker = marker  # message -> round key, or None to ignore it
        self.arrivals: dict[Any, list[float]] = {}
        self.done: dict[Any, asyncio.Event] = {}
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.last_message = ""

    def expect(self, key: Any) -> asyncio.Event:
        self.arrivals.setdefault(key, [])
        return self.done.setdefault(key, asyncio.Event())

    async def _read(self, ws: Any) -> None:
        seen = 0
        try:
            async for message in ws:
                now = time.perf_counter()
                key = self.marker(message, seen)
                seen += 1
                if key is None:
                    continue
                self.last_message = message
                times = self.arrivals.setdefault(key, [])
                times.append(now)
                if len(times) == len(self.sockets):
                    self.expect(key).set()
        except Exception:  # a closed socket just stops reading
            return

    async def open(self, urls: list[str], headers: dict[str, str], origins: list[str]) -> None:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(50)

        async def one(index: int) -> Any:
            async with gate:
                url = urls[index % len(urls)]
                return await connect(
                    url,
                    additional_headers=headers,
                    origin=origins[index % len(origins)],  # type: ignore[arg-type]
                    max_size=2**22,
                    open_timeout=60,
                )

        self.sockets = list(await asyncio.gather(*(one(i) for i in range(SOCKETS))))

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._read(ws)) for ws in self.sockets]

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()


def _latencies(fleet: Fleet, started: dict[Any, float]) -> list[float]:
    return [
        (t - started[key]) * 1000
        for key, times in fleet.arrivals.items()
        if key in started
        for t in times
    ]


async def test_p1_move_to_every_socket_vs_bare_broadcast(
    services: dict[str, str], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    _raise_fd_limit()
    await make_deal(tenant_b, "Other tenant's card")
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Bench card")
    marker_text = f'data-deal-id="{deal}" data-version="'
    servers = start_many(services, 2)
    try:

        def app_marker(message: Any, _seen: int) -> int | None:
            text = str(message)
            at = text.find(marker_text)
            if at < 0:
                return None
            digits = text[at + len(marker_text) :].split('"', 1)[0]
            return int(digits) if digits.isdigit() else None

        fleet = Fleet(app_marker)
        cookie = session_cookie(client_a)
        await fleet.open(
            [srv.ws_url for srv in servers], {"Cookie": cookie}, [srv.url for srv in servers]
        )
        fleet.start()
        started: dict[Any, float] = {}
        targets = [s["Qualified"].id, s["Lead"].id]
        async with httpx.AsyncClient(
            headers={"Cookie": cookie, "X-CSRF-Token": client_a.csrf, "HX-Request": "true"},
            timeout=60,
        ) as http:
            for move in range(MOVES + 2):
                version = move + 1
                done = fleet.expect(version + 1)
                server = servers[move % 2]
                t0 = time.perf_counter()
                response = await http.post(
                    f"{server.url}/deals/{deal}/move",
                    data={"stage_id": str(targets[move % 2]), "version": str(version)},
                )
                assert response.status_code == 200 and "x-odex-move" not in response.headers
                await asyncio.wait_for(done.wait(), 60)
                if move >= 2:  # the first two warm up
                    started[version + 1] = t0
        app_ms = _latencies(fleet, started)
        payload = fleet.last_message
        await fleet.close()
    finally:
        for srv in servers:
            srv.stop()
    assert len(app_ms) == MOVES * SOCKETS

    port = free_port()
    bare = _spawn(["-m", "tests.perf.bare_broadcast", str(port)], services)
    try:
        await asyncio.sleep(0.5)
        from websockets.asyncio.client import connect

        floor_fleet = Fleet(lambda _message, seen: seen)
        origin = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                await floor_fleet.open([f"ws://127.0.0.1:{port}/"], {}, [origin])
                break
            except OSError:
                await asyncio.sleep(0.2)
        floor_fleet.start()
        floor_started: dict[Any, float] = {}
        async with connect(f"ws://127.0.0.1:{port}/control", max_size=2**22) as control:
            for round_ in range(MOVES + 2):
                done = floor_fleet.expect(round_)
                t0 = time.perf_counter()
                await control.send(payload)
                await asyncio.wait_for(done.wait(), 60)
                if round_ >= 2:
                    floor_started[round_] = t0
        floor_ms = _latencies(floor_fleet, floor_started)
        await floor_fleet.close()
    finally:
        bare.terminate()
        bare.wait(10)

    print(f"\nP1: {SOCKETS} sockets over 2 app processes, {MOVES} moves, {len(payload)} bytes each")
    p50 = report(
        "P1 move->all sockets p50",
        percentile(app_ms, 50),
        percentile(floor_ms, 50),
        "ms",
        "bare websockets broadcast p50",
    )
    p99 = report(
        "P1 move->all sockets p99",
        percentile(app_ms, 99),
        percentile(floor_ms, 99),
        "ms",
        "bare websockets broadcast p99",
    )
    assert p50 < 50 and p99 < 50  # generous: a regression by an order of magnitude fails


async def test_p2_board_page_requests_per_second_vs_hello_world(
    services: dict[str, str], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from app.core.db import tenant_transaction

    s = await stages(tenant_a)
    await make_deal(tenant_b, "Not on A's board")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into deals (id, tenant_id, title, amount, currency, pipeline_id, stage_id,"
            " position, expected_close_date, owner_id)"
            " select gen_random_uuid(), $1, 'Bench deal ' || g, g * 100, 'EUR', $2,"
            " ($3::uuid[])[1 + g % 6], g, current_date + g, $4"
            " from generate_series(1, $5) as g",
            tenant_a.tenant_id,
            s["Lead"].pipeline_id,
            [stage.id for stage in s.values()],
            tenant_a.user_id,
            BOARD_DEALS,
        )
    app_server = WebProcess(services).start()
    hello_port = free_port()
    hello = _spawn(
        [
            "-m",
            "uvicorn",
            "tests.perf.hello_app:app",
            "--port",
            str(hello_port),
            "--proxy-headers",
            "--log-level",
            "info",
            "--ws",
            "websockets",
        ],
        services,
    )
    try:
        app_server.wait_ready()
        cookie = session_cookie(client_a)
        async with httpx.AsyncClient(headers={"Cookie": cookie}, timeout=30) as http:
            page = await http.get(f"{app_server.url}/deals/board")
            assert page.status_code == 200 and page.text.count('class="deal-card card"') == 200
            board_rps = await _requests_per_second(http, f"{app_server.url}/deals/board")
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(100):
                try:
                    await http.get(f"http://127.0.0.1:{hello_port}/")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            hello_rps = await _requests_per_second(http, f"http://127.0.0.1:{hello_port}/")
    finally:
        app_server.stop()
        hello.terminate()
        hello.wait(10)
    ratio = report(
        "P2 board page (200 deals)",
        board_rps,
        hello_rps,
        "req/s",
        "Litestar hello-world, same uvicorn setup",
    )
    assert ratio > 0.01  # the board must not be two orders of magnitude slower than nothing


async def _requests_per_second(http: httpx.AsyncClient, url: str) -> float:
    for _ in range(20):  # warm up
        assert (await http.get(url)).status_code == 200
    count = 0
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            response = await http.get(url)
            assert response.status_code == 200
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)
