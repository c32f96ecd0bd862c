"""R8 soak (`make soak`, or `make bench` with BENCH_SOAK=1; never in `make test`): 1,000 open
sockets across two web processes, 200 writes/s (deal moves, deal edits, notes) for 60 s, with
a worker running. Zero errors, every socket gets every board message of its workspace, and
the resident memory of the web processes and of the worker grows < 10 % from the 10th to the
last second.

The writes come from wrk (tests/perf/writes.lua: paced, one connection per thread, versions
kept), the sockets are read by tests/perf/ws_fleet.py in its own process. The sockets belong
to SOAK_TENANTS workspaces (default 20, so 50 browser tabs each, on both web processes): a
board message goes to the sockets of its own workspace, as in production. SOAK_TENANTS=1 puts
all 1,000 sockets on one board (every write then reaches every socket: P1's case, sustained)."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import pytest

from tests.helpers import Account, browser_client, make_account
from tests.perf import seed
from tests.perf.fleet import FleetProcess
from tests.perf.load import WrkOutput, run_wrk_script
from tests.perf.report import check, record
from tests.realtime.servers import WebProcess, session_cookie, start_many

pytestmark = pytest.mark.skipif(
    os.environ.get("BENCH_SOAK") != "1", reason="the soak runs with `make soak` (BENCH_SOAK=1)"
)

SOCKETS = int(os.environ.get("SOAK_SOCKETS", "1000"))
TENANTS = int(os.environ.get("SOAK_TENANTS", "20"))
RATE = float(os.environ.get("SOAK_WRITES_PER_S", "200"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "100"))  # writers over both processes
OPEN_AT_ONCE = int(os.environ.get("SOAK_OPEN_AT_ONCE", "50"))  # sockets connecting at a time
DEALS_PER_TENANT = 24
MEMORY_FROM = 10.0  # seconds: growth is measured from here to the end
READY_TEXT = 'id="live-status"'
BOARD_TEXT = "data-deal-id="  # a board message (columns, cards, rows)
MIX = "mmmmeeennn"  # 40 % moves, 30 % edits, 30 % notes
WRITES_LUA = Path(__file__).with_name("writes.lua")


@dataclass
class Workspace:
    account: Account
    cookie: str
    csrf: str
    open_stages: list[UUID]
    deals: list[UUID]


async def _workspaces(app: Any, accounts: list[Account]) -> list[Workspace]:
    """Each workspace: a board of DEALS_PER_TENANT deals on its open stages, a signed-in
    session (its browser tabs share it)."""
    rng = random.Random(8)
    out = []
    for account in accounts:
        tenant = seed.Tenant(account.tenant_id, [account.user_id])
        await seed.seed_pipelines(tenant, 0)
        await seed.seed_deals(tenant, [DEALS_PER_TENANT], rng, open_only=True)
        board = tenant.pipelines[0]
        open_stages = [s for s, kind in tenant.stages[board] if kind == "open"]
        async with browser_client(app) as client:
            await client.login(account.email, account.password)
            cookie, csrf = session_cookie(client), client.csrf
        out.append(Workspace(account, cookie, csrf, open_stages, tenant.deals[board]))
    return out


def _items(spaces: list[Workspace], part: int, parts: int) -> str:
    """writes.lua's items file for writer `part` of `parts`: every workspace's deals, dealt out
    so that each deal has exactly one writer (which keeps its version)."""
    lines = []
    n = 0
    for number, ws in enumerate(spaces):
        stages = ",".join(map(str, ws.open_stages))
        for i, deal in enumerate(ws.deals):
            if n % parts == part:  # seed_deals put deal i on open stage i % len(stages)
                at = i % len(ws.open_stages) + 1
                lines.append(f"{ws.cookie}\t{ws.csrf}\t{number}\t{deal}\t{stages}\t{at}\t1")
            n += 1
    return "".join(f"{line}\n" for line in lines)


def _spawn_worker(services: dict[str, str]) -> subprocess.Popen[bytes]:
    """`odex worker` with the test services (it takes whatever jobs the writes queue).

    The day's backup is not due for it (BACKUP_HOUR=24): a worker takes the backup when it
    starts if today's is missing, and in a bench database there is none. After the other
    benches that is a dump of 1M contacts and their search index beside the soak, on the two
    cores the web processes need (165-185 writes/s measured so; R8 measures the writes)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env={**os.environ, **services, "BACKUP_HOUR": "24"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Memory:
    """Resident memory of the web processes and the worker, sampled every second."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.cpu_before = self.cpu()

    def cpu(self) -> dict[str, float]:
        return {n: sum(p.cpu_times()[:2]) for n, p in self.procs.items()}

    def sample(self, at: float) -> None:
        self.samples.append((at, {n: p.memory_info().rss / 2**20 for n, p in self.procs.items()}))

    def growth(self) -> dict[str, tuple[float, float, float]]:
        """Per process: (MB at MEMORY_FROM, MB at the end, growth in %)."""
        start = next(s for at, s in self.samples if at >= MEMORY_FROM)
        end = self.samples[-1][1]
        return {n: (start[n], end[n], (end[n] - start[n]) / start[n] * 100) for n in start}


async def _write_for(
    servers: list[WebProcess], spaces: list[Workspace], memory: Memory, tmp: Path
) -> list[WrkOutput]:
    """Two wrk writers (one per web process) for SECONDS, while memory is sampled each second."""
    per_server = CONNECTIONS // len(servers)
    interval_ms = 1000 * CONNECTIONS / RATE  # each connection writes once per interval
    runs = []
    for i, server in enumerate(servers):
        items = tmp / f"items-{i}"
        items.write_text(_items(spaces, i, len(servers)))
        args = [str(items), f"{interval_ms:.3f}", MIX, str(per_server)]
        write = partial(
            run_wrk_script, server.url, WRITES_LUA, args, threads=per_server,
            connections=per_server, seconds=SECONDS,
        )  # fmt: skip
        runs.append(asyncio.create_task(asyncio.to_thread(write)))
    started = time.perf_counter()
    while not all(run.done() for run in runs):
        memory.sample(time.perf_counter() - started)
        await asyncio.wait(runs, timeout=1)
    memory.sample(time.perf_counter() - started)
    return [run.result() for run in runs]


async def test_r8_soak(
    services: dict[str, str], app: Any, owner_conn: Any, tenant_a: Account, tenant_b: Account
) -> None:
    accounts = [tenant_a, tenant_b] + [await make_account(f"Soak{i}") for i in range(TENANTS - 2)]
    spaces = await _workspaces(app, accounts[:TENANTS])
    # on a settled database, as the other benches: at the end of a whole bench (P3's million
    # contacts, P5's 200k-row purge, P4's 200k contacts before it) the soak sustained 178
    # writes/s at 4.59 ms of web CPU a write, against 201/s at 3.3-3.5 ms in three runs before
    settled = await seed.settle(owner_conn)
    print(
        f"\nR8: the database settled first: vacuum {settled['vacuum_s']:.1f} s, then autovacuum"
        f" {settled['autovacuum_wait_s']:.1f} s, checkpoint {settled['checkpoint_s']:.1f} s"
    )
    assert len(spaces) * DEALS_PER_TENANT >= CONNECTIONS, "more writers than deals"
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
            specs, ready=READY_TEXT, count=BOARD_TEXT, rounds=False, open_at_once=OPEN_AT_ONCE
        ).start()
        pids = {f"web{i + 1}": s.proc.pid for i, s in enumerate(servers) if s.proc}
        memory = Memory({**pids, "worker": worker.pid})
        fleet_cpu = fleet.cpu()
        with tempfile.TemporaryDirectory(prefix="odex-soak-") as tmp:
            outputs = await _write_for(servers, spaces, memory, Path(tmp))
        cpu = {n: s - memory.cpu_before[n] for n, s in memory.cpu().items()}
        cpu["fleet"] = fleet.cpu() - fleet_cpu
        cpu["wrk"] = sum(out.cpu for out in outputs)
        pushes = {int(space): 0 for space in range(len(spaces))}
        for out in outputs:
            for space, n in out.data["pushes"].items():
                pushes[int(space)] += n
        expected = [pushes[int(group)] for *_, group in specs]
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
    _report(outputs, report, pushes, specs, memory, cpu)


def _report(
    outputs: list[WrkOutput],
    report: dict[str, Any],
    pushes: dict[int, int],
    specs: list[tuple[str, str, str, str]],
    memory: Memory,
    cpu: dict[str, float],
) -> None:
    # the writes answered within the run, over the run asked for: each connection asks one
    # every interval from its first at 0 s (writes.lua), RATE x SECONDS in all; wrk's own
    # duration is a few milliseconds longer (its threads stop on their next timer)
    seconds = float(max(1, round(SECONDS)))
    ran = max(out.data["duration_us"] for out in outputs) / 1e6
    writes = sum(out.data["moves"] + out.data["edits"] + out.data["notes"] for out in outputs)
    ops = {k: sum(out.data[k] for out in outputs) for k in ("moves", "edits", "notes")}
    errors = sum(out.data["errors"] + out.data["bad"] for out in outputs)
    samples = [out.sample for out in outputs if out.sample]
    counts = report["counts"]
    expected = [pushes[int(group)] for *_, group in specs]
    short = sum(max(0, e - c) for c, e in zip(counts, expected, strict=True))
    by_space: dict[int, list[int]] = {}
    for (*_, group), got in zip(specs, counts, strict=True):
        by_space.setdefault(int(group), []).append(got)
    starved = {  # workspace: (messages expected, the counts its sockets got)
        g: (pushes[g], sorted(set(got))) for g, got in by_space.items() if min(got) < pushes[g]
    }
    growth = memory.growth()
    web_ms = 1000 * sum(s for n, s in cpu.items() if n.startswith("web")) / max(1, writes)
    print(
        f"\nR8: {SOCKETS} sockets ({len(pushes)} workspaces) over 2 web processes + 1 worker;"
        f" {writes:,} writes in {seconds:.0f} s (wrk ran {ran:.2f} s; {writes / seconds:.1f}/s of"
        f" {RATE:.0f}/s asked, {RATE * seconds:,.0f} writes;"
        f" {ops}); {errors} write errors {samples[:2]}; socket errors {report['error_count']};"
        f" board messages expected {sum(expected):,}, missing {short:,}"
        f"\nR8 workspaces whose sockets missed messages (expected, counts received): {starved}"
        f"\nR8 write latency p50 {max(o.data['p50_us'] for o in outputs) / 1000:.0f} ms,"
        f" p99 {max(o.data['p99_us'] for o in outputs) / 1000:.0f} ms"
        "\nR8 CPU seconds: "
        + ", ".join(f"{n} {s:.1f}" for n, s in cpu.items())
        + f"; web processes {web_ms:.2f} ms a write (their pushes included)"
        + "".join(
            f"\nR8 RSS {n}: {a:.0f} MB at {MEMORY_FROM:.0f} s -> {b:.0f} MB at the end ({g:+.1f} %)"
            for n, (a, b, g) in growth.items()
        )
    )
    figures = [
        record(
            "R8 writes/s sustained",
            writes / seconds,
            "writes/s",
            goal=RATE,
            bound=0.9 * RATE,
            lower_is_better=False,
            detail={**ops, "cpu_s": cpu},
        ),
        record("R8 write errors", errors, "errors", goal=0, bound=0, detail={"first": samples}),
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
            detail={"expected": sum(expected), "short_workspaces": len(starved)},
        ),
    ]
    for name, (_, _, pct) in growth.items():
        figures.append(record(f"R8 RSS growth {name}", pct, "%", goal=10, bound=10))
    check(*figures)
