"""P1: a deal move reaching 1,000 sockets spread over two app processes, against a bare
`websockets` server broadcasting the same bytes to as many sockets. Both fleets are read by
the same client (tests/perf/ws_fleet.py, its own process), which checks that every socket got
every round. Run by `make bench`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

from app.settings import load_settings
from tests.deals.helpers import make_deal, stages
from tests.helpers import Account
from tests.perf.fleet import FleetProcess
from tests.perf.report import check, percentile, record
from tests.realtime.servers import free_port, session_cookie, start_many

SOCKETS = int(os.environ.get("BENCH_SOCKETS", "1000"))
MOVES = int(os.environ.get("BENCH_MOVES", "30"))
WARMUP_ROUNDS = 2
READY_TEXT = 'id="live-status"'  # the app's first message on a socket: subscribed


def _latencies(report: dict[str, Any], started: dict[int, float]) -> list[float]:
    return [
        (t - started[int(key)]) * 1000
        for key, times in report["arrivals"].items()
        if int(key) in started
        for t in times
    ]


def _every_socket_got_every_round(report: dict[str, Any], rounds: int, what: str) -> None:
    assert report["error_count"] == 0, f"{what}: socket errors {report['errors']}"
    assert report["missing_keys"] == 0, f"{what}: {report['missing_keys']} socket-rounds missing"
    assert min(report["counts"]) >= rounds, f"{what}: a socket got {min(report['counts'])} rounds"


async def _app_rounds(
    services: dict[str, str], client_a: Any, tenant_a: Account
) -> tuple[list[float], str, dict[str, float]]:
    s = await stages(tenant_a)
    deal = await make_deal(tenant_a, "Bench card")
    servers = start_many(services, 2)
    fleet = None
    try:
        cookie = session_cookie(client_a)
        fleet = await FleetProcess(
            [(srv.ws_url, srv.url, cookie, "a") for srv in servers] * (SOCKETS // 2),
            ready=READY_TEXT,
            marker=f'data-deal-id="{deal}" data-version="(\\d+)"',
        ).start()
        targets = [s["Qualified"].id, s["Lead"].id]
        started: dict[int, float] = {}
        cpu = _Cpu([fleet.pid], [srv.proc.pid for srv in servers if srv.proc])
        async with httpx.AsyncClient(
            headers={"Cookie": cookie, "X-CSRF-Token": client_a.csrf, "HX-Request": "true"},
            timeout=60,
        ) as http:
            for move in range(MOVES + WARMUP_ROUNDS):
                version = move + 1
                if move == WARMUP_ROUNDS:
                    cpu.start()
                t0 = time.perf_counter()
                response = await http.post(
                    f"{servers[move % 2].url}/deals/{deal}/move",
                    data={"stage_id": str(targets[move % 2]), "version": str(version)},
                )
                assert response.status_code == 200 and "x-odex-move" not in response.headers
                await fleet.wait_done(version + 1)
                if move >= WARMUP_ROUNDS:
                    started[version + 1] = t0
        split = cpu.stop()
        report = await fleet.report()
    finally:
        if fleet is not None:
            await fleet.close()
        for srv in servers:
            srv.stop()
    _every_socket_got_every_round(report, MOVES + WARMUP_ROUNDS, "app")
    return _latencies(report, started), report["last_message"], split


class _Cpu:
    """CPU seconds of the client and of the servers between start() and stop()."""

    def __init__(self, client: list[int], servers: list[int]) -> None:
        self.client, self.servers = client, servers
        self.before = (0.0, 0.0)

    @staticmethod
    def _sum(pids: list[int]) -> float:
        return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)

    def start(self) -> None:
        self.before = (self._sum(self.client), self._sum(self.servers))

    def stop(self) -> dict[str, float]:
        return {
            "client_cpu_s": self._sum(self.client) - self.before[0],
            "servers_cpu_s": self._sum(self.servers) - self.before[1],
        }


def _spawn(args: list[str], services: dict[str, str]) -> subprocess.Popen[bytes]:
    """A helper server process with the test services' environment (output discarded)."""
    return subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **services},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _bare_rounds(
    services: dict[str, str], payload: str
) -> tuple[list[float], dict[str, float]]:
    port = free_port()
    deflate = ["deflate"] if load_settings({**os.environ, **services}).live_compression else []
    bare = _spawn(["-m", "tests.perf.bare_broadcast", str(port), *deflate], services)
    fleet = None
    try:
        url, origin = f"ws://127.0.0.1:{port}/", f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                async with connect(url + "probe"):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        fleet = await FleetProcess([(url, origin, "", "bare")] * SOCKETS).start()
        started: dict[int, float] = {}
        cpu = _Cpu([fleet.pid], [bare.pid])
        async with connect(f"ws://127.0.0.1:{port}/control", max_size=2**22) as control:
            for round_ in range(MOVES + WARMUP_ROUNDS):
                if round_ == WARMUP_ROUNDS:
                    cpu.start()
                t0 = time.perf_counter()
                await control.send(payload)
                await fleet.wait_done(round_)
                if round_ >= WARMUP_ROUNDS:
                    started[round_] = t0
        split = cpu.stop()
        report = await fleet.report()
    finally:
        if fleet is not None:
            await fleet.close()
        bare.terminate()
        bare.wait(10)
    _every_socket_got_every_round(report, MOVES + WARMUP_ROUNDS, "bare broadcast")
    return _latencies(report, started), split


async def test_p1_move_to_every_socket_vs_bare_broadcast(
    services: dict[str, str], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_deal(tenant_b, "Other tenant's card")  # B's board events must not reach A
    app_ms, payload, app_cpu = await _app_rounds(services, client_a, tenant_a)
    floor_ms, bare_cpu = await _bare_rounds(services, payload)
    assert len(app_ms) == len(floor_ms) == MOVES * SOCKETS
    print(
        f"\nP1: {SOCKETS} sockets over 2 app processes, {MOVES} moves, {len(payload)} bytes each;"
        f" client CPU {app_cpu['client_cpu_s']:.2f} s vs app servers {app_cpu['servers_cpu_s']:.2f}"
        f" s (bare: {bare_cpu['client_cpu_s']:.2f} s vs {bare_cpu['servers_cpu_s']:.2f} s)"
    )
    detail = {"app_cpu": app_cpu, "bare_cpu": bare_cpu, "bytes": len(payload)}
    record(
        "P1 move -> all sockets p50",
        percentile(app_ms, 50),
        "ms",
        floor=percentile(floor_ms, 50),
        floor_what="bare broadcast p50",
        detail=detail,
    )
    p99 = record(
        "P1 move -> all sockets p99",
        percentile(app_ms, 99),
        "ms",
        floor=percentile(floor_ms, 99),
        floor_what="bare broadcast p99",
        goal=1.5,
        bound=3.0,
        detail=detail,
    )
    for run, cpu in (("app", app_cpu), ("bare broadcast", bare_cpu)):
        record(  # the client's share: the same client reads both fleets, and it is not free
            f"P1 client CPU / server CPU ({run})",
            cpu["client_cpu_s"] / cpu["servers_cpu_s"],
            "share",
            detail=cpu,
        )
    check(p99)
