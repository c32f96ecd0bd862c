"""R8 soak (`make soak`, or `make bench` with BENCH_SOAK=1; never in `make test`): 1,000 open
sockets across two web processes, 200 writes/s (deal moves, deal edits, notes) for 60 s, with
a worker running. Zero errors, every socket gets every board message of its workspace, and
the resident memory of the web processes and of the worker grows < 10 % from the 10th to the
last second.

The sockets belong to SOAK_TENANTS workspaces (default 20, so 50 browser tabs each): a board
message goes to the sockets of its own workspace, as in production. SOAK_TENANTS=1 puts all
1,000 sockets on one board (every write then reaches every socket: P1's case, sustained)."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import psutil
import pytest

from tests.helpers import Account, browser_client, make_account
from tests.perf import seed
from tests.perf.fleet import FleetProcess
from tests.perf.report import check, percentile, record
from tests.realtime.servers import WebProcess, session_cookie, start_many

pytestmark = pytest.mark.skipif(
    os.environ.get("BENCH_SOAK") != "1", reason="the soak runs with `make soak` (BENCH_SOAK=1)"
)

SOCKETS = int(os.environ.get("SOAK_SOCKETS", "1000"))
TENANTS = int(os.environ.get("SOAK_TENANTS", "20"))
RATE = float(os.environ.get("SOAK_WRITES_PER_S", "200"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
DEALS_PER_TENANT = 24
MEMORY_FROM = 10.0  # seconds: growth is measured from here to the end
READY_TEXT = 'id="live-status"'
BOARD_TEXT = "data-deal-id="  # a board message (columns, cards, rows)
MIX = ("move", "move", "move", "move", "edit", "edit", "edit", "note", "note", "note")


@dataclass
class Workspace:
    account: Account
    cookie: str
    csrf: str
    open_stages: list[UUID]
    versions: dict[UUID, int]
    stage_of: dict[UUID, UUID]
    busy: set[UUID] = field(default_factory=set)
    pushes: int = 0  # board messages its sockets must get


@dataclass
class Tally:
    done: dict[str, int] = field(default_factory=lambda: {"move": 0, "edit": 0, "note": 0})
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    skipped: int = 0  # writes not sent: the target could not keep up


async def _workspaces(app: Any, accounts: list[Account]) -> list[Workspace]:
    rng = random.Random(8)
    out = []
    for account in accounts:
        tenant = seed.Tenant(account.tenant_id, [account.user_id])
        await seed.seed_pipelines(tenant, 0)
        await seed.seed_deals(tenant, [DEALS_PER_TENANT], rng, open_only=True)
        board = tenant.pipelines[0]
        open_stages = [s for s, kind in tenant.stages[board] if kind == "open"]
        deals = tenant.deals[board]
        async with browser_client(app) as client:
            await client.login(account.email, account.password)
            cookie, csrf = session_cookie(client), client.csrf
        stage_of = {d: open_stages[i % len(open_stages)] for i, d in enumerate(deals)}
        out.append(Workspace(account, cookie, csrf, open_stages, dict.fromkeys(deals, 1), stage_of))
    return out


async def _write(
    http: httpx.AsyncClient, server: WebProcess, ws: Workspace, op: str, n: int, tally: Tally
) -> None:
    free = [d for d in ws.versions if d not in ws.busy]
    if not free:
        tally.skipped += 1
        return
    deal = free[n % len(free)]
    ws.busy.add(deal)
    headers = {"Cookie": ws.cookie, "X-CSRF-Token": ws.csrf}
    started = time.perf_counter()
    try:
        if op == "move":
            here = ws.open_stages.index(ws.stage_of[deal])
            target = ws.open_stages[(here + 1) % len(ws.open_stages)]
            r = await http.post(
                f"{server.url}/deals/{deal}/move",
                data={"stage_id": str(target), "version": str(ws.versions[deal])},
                headers={**headers, "HX-Request": "true"},
            )
            ok = (  # the move applied: no refusal, no redirect to the login, the card came back
                r.status_code == 200
                and not {"x-odex-move", "hx-redirect", "hx-location"} & set(r.headers)
                and f'data-deal-id="{deal}"' in r.text
            )
            if ok:
                ws.stage_of[deal] = target
        elif op == "edit":
            r = await http.post(
                f"{server.url}/deals/{deal}",
                data={
                    "title": f"Soak edit {n}",
                    "amount": str(1000 + n % 5000),
                    "currency": "EUR",
                    "stage_id": str(ws.stage_of[deal]),
                    "version": str(ws.versions[deal]),
                },
                headers=headers,
            )
            ok = r.status_code == 303 and r.headers.get("location") == f"/deals/{deal}"
        else:
            r = await http.post(
                f"{server.url}/records/deal/{deal}/notes",
                data={"body": f"Soak note {n}: called, left a message"},
                headers=headers,
            )
            ok = r.status_code == 303 and r.headers.get("location") == f"/deals/{deal}"
        if not ok:
            where = r.headers.get("location") or r.headers.get("hx-redirect") or ""
            tally.errors.append(f"{op} {deal}: HTTP {r.status_code} {where} {r.text[:200]}")
            return
        tally.latencies.append((time.perf_counter() - started) * 1000)
        tally.done[op] += 1
        if op != "note":  # moves and edits push to the workspace's board, notes don't
            ws.versions[deal] += 1
            ws.pushes += 1
    except httpx.HTTPError as exc:
        tally.errors.append(f"{op} {deal}: {type(exc).__name__} {exc}")
    finally:
        ws.busy.discard(deal)


class Memory:
    """Resident memory of the web processes and the worker, sampled every second."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.samples: list[tuple[float, dict[str, float]]] = []

    def sample(self, at: float) -> None:
        self.samples.append((at, {n: p.memory_info().rss / 2**20 for n, p in self.procs.items()}))

    def growth(self) -> dict[str, tuple[float, float, float]]:
        """Per process: (MB at MEMORY_FROM, MB at the end, growth in %)."""
        start = next(s for at, s in self.samples if at >= MEMORY_FROM)
        end = self.samples[-1][1]
        return {n: (start[n], end[n], (end[n] - start[n]) / start[n] * 100) for n in start}


async def _drive(servers: list[WebProcess], spaces: list[Workspace], memory: Memory) -> Tally:
    """RATE writes a second for SECONDS, open loop: a write is started on its tick whatever
    the previous ones are doing (at most 4 x RATE in flight; past that, ticks are skipped)."""
    tally = Tally()
    rng = random.Random(88)
    tasks: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.perf_counter()
        next_sample = 0.0
        for n in itertools.count():
            due = started + n / RATE
            if due - started >= SECONDS:
                break
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            if now - started >= next_sample:
                memory.sample(now - started)
                next_sample += 1
            if len(tasks) >= 4 * RATE:
                tally.skipped += 1
                continue
            ws, op, server = rng.choice(spaces), rng.choice(MIX), rng.choice(servers)
            task = asyncio.create_task(_write(http, server, ws, op, n, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        memory.sample(time.perf_counter() - started)
    return tally


def _spawn_worker(services: dict[str, str]) -> subprocess.Popen[bytes]:
    """`odex worker` with the test services (it takes whatever jobs the writes queue)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env={**os.environ, **services},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_r8_soak(
    services: dict[str, str], app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    accounts = [tenant_a, tenant_b] + [await make_account(f"Soak{i}") for i in range(TENANTS - 2)]
    spaces = await _workspaces(app, accounts[:TENANTS])
    servers = start_many(services, 2)
    worker = _spawn_worker(services)
    fleet = None
    try:
        # socket i: workspace i % TENANTS on web process (i // TENANTS) % 2, so every
        # workspace has tabs on both processes and its board messages cross through Redis
        specs = [
            (
                servers[i // len(spaces) % 2].ws_url,
                servers[i // len(spaces) % 2].url,
                spaces[i % len(spaces)].cookie,
                str(i % len(spaces)),
            )
            for i in range(SOCKETS)
        ]
        fleet = await FleetProcess(
            specs,
            ready=READY_TEXT,
            count=BOARD_TEXT,
            rounds=False,
            open_at_once=int(os.environ.get("SOAK_OPEN_AT_ONCE", "50")),
        ).start()
        pids = {f"web{i + 1}": s.proc.pid for i, s in enumerate(servers) if s.proc}
        memory = Memory({**pids, "worker": worker.pid})
        cpu_before = {n: sum(p.cpu_times()[:2]) for n, p in memory.procs.items()}
        fleet_cpu = fleet.cpu()
        me = psutil.Process()
        own_cpu = sum(me.cpu_times()[:2])
        began = time.perf_counter()
        tally = await _drive(servers, spaces, memory)
        elapsed = time.perf_counter() - began
        cpu = {n: sum(p.cpu_times()[:2]) - cpu_before[n] for n, p in memory.procs.items()}
        fleet_cpu = fleet.cpu() - fleet_cpu
        cpu["writer (this process)"] = sum(me.cpu_times()[:2]) - own_cpu
        cpu["fleet"] = fleet_cpu
        expected = [spaces[int(group)].pushes for _, _, _, group in specs]
        for _ in range(60):  # the last messages may still be on their way
            report = await fleet.report()
            if all(c >= e for c, e in zip(report["counts"], expected, strict=True)):
                break
            await asyncio.sleep(1)
    finally:
        if fleet is not None:
            await fleet.close()
        worker.terminate()
        worker.wait(30)
        for server in servers:
            server.stop()
    writes = sum(tally.done.values())
    short = sum(max(0, e - c) for c, e in zip(report["counts"], expected, strict=True))
    extra = sum(max(0, c - e) for c, e in zip(report["counts"], expected, strict=True))
    growth = memory.growth()
    by_space: dict[int, list[int]] = {}
    for (_, _, _, group), got in zip(specs, report["counts"], strict=True):
        by_space.setdefault(int(group), []).append(got)
    shortfalls = {
        g: (spaces[g].pushes, min(c), max(c))
        for g, c in by_space.items()
        if min(c) < spaces[g].pushes
    }
    print(
        f"\nR8: {SOCKETS} sockets ({TENANTS} workspaces) over 2 web processes + 1 worker;"
        f" {writes:,} writes in {elapsed:.1f} s ({writes / elapsed:.0f}/s of {RATE:.0f}/s asked;"
        f" {tally.done}); {tally.skipped} ticks skipped; {len(tally.errors)} write errors;"
        f" socket errors {report['error_count']}; board messages expected {sum(expected):,},"
        f" missing {short:,}, unexpected {extra:,}"
        f"\nR8 workspaces short of messages (expected, min, max per socket): {shortfalls}"
        f"\nR8 CPU seconds: "
        + ", ".join(f"{n} {s:.1f}" for n, s in cpu.items())
        + "".join(
            f"\nR8 RSS {n}: {a:.0f} MB at {MEMORY_FROM:.0f} s -> {b:.0f} MB at the end ({g:+.1f} %)"
            for n, (a, b, g) in growth.items()
        )
    )
    figures = [
        record(
            "R8 writes/s sustained",
            writes / elapsed,
            "writes/s",
            goal=RATE,
            bound=0.9 * RATE,
            lower_is_better=False,
            detail={"done": tally.done, "skipped": tally.skipped},
        ),
        record(
            "R8 write errors",
            len(tally.errors),
            "errors",
            goal=0,
            bound=0,
            detail={"first": tally.errors[:5]},
        ),
        record(
            "R8 socket errors",
            report["error_count"],
            "errors",
            goal=0,
            bound=0,
            detail={"first": report["errors"][:5]},
        ),
        record(
            "R8 board messages missing",
            short,
            "messages",
            goal=0,
            bound=0,
            detail={"expected": sum(expected), "unexpected": extra},
        ),
    ]
    record(
        "R8 write p99",
        percentile(tally.latencies, 99),
        "ms",
        detail={"p50": percentile(tally.latencies, 50)},
    )
    for name, (_, _, pct) in growth.items():
        figures.append(
            record(
                f"R8 RSS growth {name}", pct, "%", goal=10, bound=10, detail={"cpu_s": cpu[name]}
            )
        )
    check(*figures)
