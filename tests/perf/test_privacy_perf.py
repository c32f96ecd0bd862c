"""P3 (export of 1M contacts against a bare COPY of the same rows, and the memory of the export
itself) and P5 (another tenant's page latency under hey while a workspace purge runs, against
the same load while the purge is paused). Run by `make bench`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from app.core.crypto import encrypt_text
from app.core.db import global_transaction, tenant_transaction
from app.privacy.purge import PURGE_BATCH
from tests.helpers import Account, browser_client
from tests.perf import seed
from tests.perf.load import PROFILES, run_hey, wait_http
from tests.perf.report import check, percentile, record
from tests.realtime.servers import WebProcess, session_cookie

CONTACTS = int(os.environ.get("BENCH_EXPORT_ROWS", "1000000"))
PURGE_ROWS = int(os.environ.get("BENCH_PURGE_ROWS", "200000"))
P5_CONNECTIONS = 2  # two colleagues of the other workspace clicking around
P5_PAGE = "/contacts"
# a running and a paused window each: over 8 the ratio moved 1.29-1.50x between runs
P5_CYCLES = int(os.environ.get("BENCH_P5_CYCLES", "16"))
EMAIL, PHONE = "person@example.com", "+44 20 7946 0958"  # every seeded contact's, encrypted
P5_WINDOW = 1.6  # seconds per window (a batch and its pause take ~0.7 s): 25.6 s of purging


async def _seed_contacts(tenant_id: uuid.UUID, rows: int) -> None:
    """`rows` contacts in one INSERT … SELECT (real ciphertexts: the export decrypts each)."""
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, phones_enc,"
            " title, tags) "
            "select gen_random_uuid(), $1, 'First ' || g, 'Last, \"' || g || '\"', "
            "array[$3::text], array[$4::text], "
            "case when g % 10 = 0 then '=SUM(A' || g || ')' else 'Title ' || g end, "
            "array['tag' || (g % 7)] from generate_series(1, $2) as g",
            tenant_id,
            rows,
            encrypt_text(EMAIL),
            encrypt_text(PHONE),
        )


def _job(services: dict[str, str], *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.perf.privacy_worker", *args]
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if os.environ.get("BENCH_PROFILE") == "1" and Path(spy).exists():
        # the job and its child processes sampled into var/bench/profiles/<job>.txt (collapsed
        # stacks: tests/perf/profile_summary.py); the figures of a profiled run are not
        # comparable (the sampler takes CPU from a small machine)
        PROFILES.mkdir(parents=True, exist_ok=True)
        out_file = PROFILES / f"{args[0]}-job.txt"
        command = [spy, "record", "-r", "100", "--subprocesses", "--format", "raw",
                   "-o", str(out_file), "--", *command]  # fmt: skip
    out = subprocess.run(
        command,
        env={**os.environ, **services},
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads([x for x in out.stdout.splitlines() if x.startswith("{")][-1]))


async def _copy_seconds(tenant_id: uuid.UUID) -> tuple[float, int]:
    sink = 0

    async def count(chunk: bytes) -> None:
        nonlocal sink
        sink += len(chunk)

    started = time.perf_counter()
    async with tenant_transaction(tenant_id) as conn:
        await conn.copy_from_query(
            "select * from contacts", output=count, format="csv", header=True
        )
    return time.perf_counter() - started, sink


def _contact_rows(archive_path: Path) -> int:
    """Data rows of the contacts file in the export zip (parsed as CSV: quoted newlines too),
    each with the seeded email and phone decrypted and its formula-like title neutralised."""
    with zipfile.ZipFile(archive_path) as archive:
        names = [n for n in archive.namelist() if n.lower().rsplit("/", 1)[-1] == "contacts.csv"]
        assert len(names) == 1, f"no single contacts file in {archive.namelist()}"
        with archive.open(names[0]) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            rows = 0
            for row in reader:
                assert (row["Emails"], row["Phones"]) == (EMAIL, PHONE), row
                assert not row["Job title"].startswith("="), row
                rows += 1
            return rows


async def test_p3_export_vs_copy_and_its_memory(
    services: dict[str, str], owner_conn: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from app.privacy.export import export_dir

    await _seed_contacts(tenant_b.tenant_id, 1000)  # not to be exported with A's
    await _seed_contacts(tenant_a.tenant_id, CONTACTS)
    # the export and its floor beside the seed's vacuum and checkpoints: neither, as P7 and P5
    settled = await seed.settle(owner_conn)
    # the first read of rows just inserted writes their pages again (hint bits): not the floor
    await _copy_seconds(tenant_a.tenant_id)
    copy_before, size = await _copy_seconds(tenant_a.tenant_id)
    export_id = uuid.uuid4()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into exports (id, tenant_id, user_id) values ($1, $2, $3)",
            export_id, tenant_a.tenant_id, tenant_a.user_id,
        )  # fmt: skip
    run = await asyncio.to_thread(_job, services, "export", str(tenant_a.tenant_id), str(export_id))
    copy_after, _ = await _copy_seconds(tenant_a.tenant_id)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        status = await conn.fetchval("select status from exports where id = $1", export_id)
    assert status == "ready"
    archive = export_dir() / str(tenant_a.tenant_id) / f"{export_id}.zip"
    rows = await asyncio.to_thread(_contact_rows, archive)
    assert rows == CONTACTS, f"the export holds {rows:,} contacts, not {CONTACTS:,}"
    floor = (copy_before + copy_after) / 2
    print(
        f"\nP3: export of {CONTACTS:,} contacts ({rows:,} rows in the zip,"
        f" {archive.stat().st_size / 1e6:.0f} MB) vs COPY of the same rows ({size / 1e6:.0f} MB"
        f" CSV; {copy_before:.2f} s before,"
        f" {copy_after:.2f} s after); export {run['seconds']:.1f} s, CPU"
        f" {run['cpu_seconds']:.1f} s (children's too); worker RSS"
        f" {run['rss_before_mb']:.0f} MB before the job,"
        f" peak {run['rss_peak_mb']:.0f} MB ({run['samples']} samples); the seed settled:"
        f" vacuum {settled['vacuum_s']:.1f} s, then autovacuum {settled['autovacuum_wait_s']:.1f}"
        f" s, checkpoint {settled['checkpoint_s']:.1f} s"
    )
    ratio = record(
        "P3 export 1M contacts",
        run["seconds"],
        "s",
        floor=floor,
        floor_what="bare COPY",
        goal=3.0,
        bound=6.0,
        detail={"copy_s": [copy_before, copy_after], "rows": rows},
    )
    memory = record(
        "P3 export worker RSS growth",
        run["rss_growth_mb"],
        "MB",
        goal=150,
        bound=300,
        detail=run,
    )
    check(ratio, memory)


async def _purge_progress(request_id: uuid.UUID) -> tuple[int, str]:
    async with global_transaction() as conn:
        row = await conn.fetchrow(
            "select rows_deleted, status from deletion_requests where id = $1", request_id
        )
    assert row is not None
    return int(row["rows_deleted"]), str(row["status"])


async def _purge_moved_on(request_id: uuid.UUID, purge: asyncio.subprocess.Process) -> None:
    """Wait (at most 5 s) until the resumed purge has committed two more batches."""
    start, _ = await _purge_progress(request_id)
    for _ in range(500):
        moved = (await _purge_progress(request_id))[0] - start
        if moved >= 2 * PURGE_BATCH or purge.returncode is not None:
            return
        await asyncio.sleep(0.01)


async def _purge_statement_done() -> None:
    """Wait for the purge batch in flight (its DELETE, progress update and COMMIT, run as the
    app role) to end: a SIGSTOP stops the worker, not the statement it already sent."""
    for _ in range(2000):
        async with global_transaction() as conn:
            active = await conn.fetchval(
                "select exists (select 1 from pg_stat_activity where state = 'active'"
                " and pid <> pg_backend_pid() and query ilike any(array['delete from %',"
                " '%update %deletion_requests%', 'commit%']))"
            )
        if not active:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)  # and its commit, if that was on the wire


async def test_p5_other_tenant_latency_during_purge(
    app: Any, services: dict[str, str], owner_conn: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """Tenant B's page under hey while tenant A's purge runs, in windows that alternate with
    windows where the purge worker is paused (SIGSTOP, and its batch in flight finished): both
    halves share the machine's state of the moment, so a neighbour's load can't make the
    baseline slower than the run. Every running window must see the purge delete rows, and the
    paused baseline must be the page's quiet latency (measured before the purge starts)."""
    await _seed_contacts(tenant_b.tenant_id, 2000)
    await _seed_contacts(tenant_a.tenant_id, PURGE_ROWS)
    # measured beside the purge only, not beside the vacuum that the bulk loads before it
    # (P3's 1M contacts and their search index, this seed) leave to autovacuum
    settled = await seed.settle(owner_conn)
    async with browser_client(app) as client:
        await client.login(tenant_b.email, tenant_b.password)
        cookie = session_cookie(client)
    server = WebProcess(services).start()
    purge: asyncio.subprocess.Process | None = None
    running: list[float] = []
    paused: list[float] = []
    quiet: list[float] = []
    deleted_in: dict[bool, list[int]] = {True: [], False: []}  # rows per running/paused window

    async def window(into: list[float]) -> None:
        into += await asyncio.to_thread(
            run_hey, server.url + P5_PAGE, cookie=cookie, connections=P5_CONNECTIONS,
            seconds=P5_WINDOW,
        )  # fmt: skip

    try:
        server.wait_ready()
        await asyncio.to_thread(wait_http, server.url + "/healthz")
        await window([])  # warm-up
        for _ in range(2):
            await window(quiet)  # the page with no purge at all: what the baseline must match
        request_id = uuid.uuid4()
        async with global_transaction() as conn:
            await conn.execute(
                "insert into deletion_requests (id, scope, workspace_id, subject_user_id, due_at)"
                " values ($1, 'workspace', $2, $3, now() - interval '1 second')",
                request_id, tenant_a.tenant_id, tenant_a.user_id,
            )  # fmt: skip
        purge = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.perf.privacy_worker", "purge", str(request_id),
            env={**os.environ, **services}, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stopped_since: float | None = None
        stopped_for = 0.0  # seconds the worker spent stopped: not the purge's own time
        for _ in range(6000):  # measure only once the purge is deleting rows, batch after batch
            deleted_at_start, _ = await _purge_progress(request_id)
            if deleted_at_start >= 2 * PURGE_BATCH or purge.returncode is not None:
                break
            await asyncio.sleep(0.01)
        for cycle in range(P5_CYCLES):  # on/off, then off/on: no side always goes first
            for on in (True, False) if cycle % 2 == 0 else (False, True):
                os.kill(purge.pid, signal.SIGCONT if on else signal.SIGSTOP)
                if on and stopped_since is not None:
                    stopped_for += time.perf_counter() - stopped_since
                    stopped_since = None
                elif not on and stopped_since is None:
                    stopped_since = time.perf_counter()
                if not on:
                    await _purge_statement_done()
                else:  # a batch the stop cut in two measured the stop too, and the purge
                    # then pauses for its longest pause (PURGE_PAUSE_MAX_SECONDS): start the
                    # window once the batch after it (timed normally) has committed too
                    await _purge_moved_on(request_id, purge)
                before, _ = await _purge_progress(request_id)
                await window(running if on else paused)
                after, _ = await _purge_progress(request_id)
                deleted_in[on].append(after - before)
        deleted_at_end, status_at_end = await _purge_progress(request_id)
        still_running = purge.returncode is None
        os.kill(purge.pid, signal.SIGCONT)
        if stopped_since is not None:
            stopped_for += time.perf_counter() - stopped_since
        out, _ = await purge.communicate()
        assert purge.returncode == 0
        purge_seconds = json.loads(out.decode().strip().splitlines()[-1])["seconds"] - stopped_for
    finally:
        if purge is not None and purge.returncode is None:
            purge.send_signal(signal.SIGCONT)
            purge.kill()
            await purge.wait()
        server.stop()
    quiet_p50, paused_p50 = percentile(quiet, 50), percentile(paused, 50)
    print(
        f"\nP5: tenant B {P5_PAGE} under hey -c{P5_CONNECTIONS}, {P5_CYCLES} x {P5_WINDOW} s with"
        f" tenant A's {PURGE_ROWS:,}-row purge running and as many with it paused; rows"
        f" {deleted_at_start:,} -> {deleted_at_end:,} deleted meanwhile; {len(running)} and"
        f" {len(paused)} requests; p50 {percentile(running, 50):.1f} vs"
        f" {percentile(paused, 50):.1f} ms ({quiet_p50:.1f} ms before the purge), p99"
        f" {percentile(running, 99):.1f} vs {percentile(paused, 99):.1f} ms; rows deleted per"
        f" window {deleted_in[True]} running, {deleted_in[False]} paused; the purge took"
        f" {purge_seconds:.1f} s in all ({stopped_for:.1f} s stopped not counted); the seed"
        f" settled: vacuum {settled['vacuum_s']:.1f} s, then autovacuum"
        f" {settled['autovacuum_wait_s']:.1f} s, checkpoint {settled['checkpoint_s']:.1f} s"
    )
    # the purpose of the run: the purge was deleting through the windows that say it ran
    assert 0 < deleted_at_start < deleted_at_end, (deleted_at_start, deleted_at_end)
    assert all(n > 0 for n in deleted_in[True]), f"a running window deleted nothing: {deleted_in}"
    # at most the batch already sent when the worker was stopped (waited for) commits then
    assert max(deleted_in[False]) <= PURGE_BATCH, f"the purge ran while paused: {deleted_in}"
    assert still_running and status_at_end != "completed", (
        f"the purge ended before the measurement did ({deleted_at_end:,} rows deleted):"
        " raise BENCH_PURGE_ROWS"
    )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from contacts") == 0
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from contacts") == 2000
    # a sane baseline: the paused windows are the page's normal latency (not a machine busy
    # with something else, nor a purge that was not paused), and no slower than the run
    assert paused_p50 <= 1.5 * quiet_p50, (
        f"baseline p50 {paused_p50:.1f} ms vs {quiet_p50:.1f} ms before the purge: the"
        " machine was busy, the figures say nothing"
    )
    assert paused_p50 <= 1.1 * percentile(running, 50), (paused_p50, percentile(running, 50))
    detail = {
        "requests": [len(running), len(paused)],
        "quiet_p50_ms": quiet_p50,
        "rows_deleted_per_window": {"running": deleted_in[True], "paused": deleted_in[False]},
        "p50_ms": [percentile(running, 50), percentile(paused, 50)],
        "p95_ms": [percentile(running, 95), percentile(paused, 95)],
        "purge_rows_deleted_while_measured": deleted_at_end - deleted_at_start,
        "purge_seconds": purge_seconds,
    }
    record(
        "P5 other tenant p50 during purge",
        percentile(running, 50),
        "ms",
        floor=percentile(paused, 50),
        floor_what="purge paused",
    )
    p99 = record(
        "P5 other tenant p99 during purge",
        percentile(running, 99),
        "ms",
        floor=percentile(paused, 99),
        floor_what="purge paused",
        goal=1.5,
        bound=3.0,
        detail=detail,
    )
    check(p99)
