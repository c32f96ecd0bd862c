"""Leases for long jobs: one worker at a time, a heartbeat, and takeover when a worker died.

arq delivers at least once, but a worker killed mid-job leaves the job locked until its timeout
(hours for an export or a purge). Here each long job holds a row in `job_runs`: the worker that
starts it takes a lease of JOB_LEASE_SECONDS and renews it every third of that while the job
runs. The `take_over_jobs` cron (every 5 s, any worker) re-queues a job whose lease ran out, so
another worker resumes it well within a minute; a job interrupted by SIGTERM or by a Valkey /
PostgreSQL outage is handed back the same way instead of failing. A job's last transaction calls
`fence(conn)`, so a worker that lost its lease (frozen, then woke up) never finishes the job a
second time. A domain uses it with a decorator on its arq function and, where the job is
requested by a user, `schedule()` instead of `enqueue_job` (the job survives a lost enqueue).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from app.core import queries
from app.core.availability import BACKEND_DOWN
from app.core.db import after_commit, global_transaction
from app.core.redis import queue
from app.settings import get_settings

log = logging.getLogger("odex.jobs")

MAX_INTERRUPTIONS = 20  # a job handed back this often (outages, SIGTERM) is failed for good
TAKEOVER_JOB = "take_over_jobs"
KEEP_FINISHED_DAYS = 7
F = TypeVar("F", bound=Callable[..., Awaitable[object]])


class LeaseLost(RuntimeError):
    """This worker no longer holds the job's lease: another one took it over."""


def worker_id() -> str:
    """host:pid:run of one job run (the pid lets an operator, or a test, find the holder; the
    run part keeps two runs of one job in the same process apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_pid(owner: str) -> int:
    """The process id in a lease's owner."""
    return int(owner.split(":")[1])


def job_key(function: str, *args: object) -> str:
    """The lease's name: the arq function and its arguments, e.g. `run_export:<tenant>:<id>`."""
    return ":".join([function, *(str(a) for a in args)])


@dataclass
class Lease:
    """A held lease (the row's key and owner) and what happened to it."""

    key: str
    owner: str
    ttl: int
    attempts: int
    takeovers: int
    lost: bool = False
    deadline: float | None = None  # time.monotonic() when arq's job timeout cancels the run


_current: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("odex_lease", default=None)


async def _acquire(key: str, function: str, args: list[object], repeatable: bool) -> Lease | None:
    """Take the job's lease unless a live worker holds it (or, for one-off jobs, it is done)."""
    ttl = get_settings().job_lease_seconds
    owner = worker_id()
    async with global_transaction() as conn:
        claimed = await queries.claim_lease(
            conn, key, function, json.dumps(args), owner, float(ttl), repeatable=repeatable
        )
    if claimed is None:
        return None
    return Lease(key, owner, ttl, claimed.attempts, claimed.takeovers)


async def _renew(lease: Lease) -> bool:
    async with global_transaction() as conn:
        return await queries.renew_lease(conn, lease.key, lease.owner, float(lease.ttl))


async def _end(lease: Lease, status: str, error: str | None = None) -> None:
    """Record the outcome: done or failed (the owner stays, as history), or queued again
    (handed back, counted as a takeover)."""
    async with global_transaction() as conn:
        await queries.end_lease(conn, lease.key, lease.owner, status, (error or "")[:500] or None)


async def _keep(lease: Lease, job: asyncio.Task[object]) -> None:
    """Renew the lease while the job runs; cancel the job once the lease is surely gone (taken
    over, or not renewable for a whole lease period, after which another worker may take it)."""
    renewed = time.monotonic()
    while True:
        await asyncio.sleep(max(lease.ttl / 3, 0.2))
        try:
            held: bool | None = await _renew(lease)
        except BACKEND_DOWN:
            held = None  # cannot tell while PostgreSQL is away
        if held:
            renewed = time.monotonic()
        elif held is False or time.monotonic() - renewed > lease.ttl:
            log.warning("lease of %s lost: stopping this run", lease.key)
            lease.lost = True
            job.cancel()
            return


async def fence(conn: asyncpg.Connection) -> None:
    """Inside a job's final transaction: raise LeaseLost unless this worker still holds the
    lease. The row stays locked until commit, so no takeover can slip in between."""
    lease = _current.get()
    if lease is None:  # not run under a lease (called directly, e.g. by a command)
        return
    if not await queries.lock_held_lease(conn, lease.key, lease.owner):
        lease.lost = True
        raise LeaseLost(lease.key)


def timed_out() -> bool:
    """Inside a leased job: has it reached the timeout it was given (`leased(timeout=…)`)?

    arq cancels a job that passes its timeout just as it cancels jobs at shutdown; only the
    second is an interruption to hand back and resume, the first is a failure."""
    lease = _current.get()
    return bool(lease and lease.deadline is not None and time.monotonic() >= lease.deadline)


def leased(
    function: str,
    *,
    repeatable: bool = False,
    skipped: object = None,
    timeout: Callable[[], float] | None = None,
) -> Callable[[F], F]:
    """Run an arq job under a lease named after `function` (its arq name) and its arguments.

    One-off jobs (`repeatable=False`) run to completion once; a repeatable one (a cron job) may
    run again after it finished, never twice at the same time. A run that finds the job held
    by a live worker, or already done, does nothing and returns `skipped`. `timeout` gives the
    job's arq timeout (read at each run): a cancellation past it fails the job for good
    instead of handing it back.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def run(ctx: object, *args: object, **kwargs: object) -> object:
            key = job_key(function, *args)
            lease = await _acquire(key, function, list(args), repeatable)
            if lease is None:
                log.info("%s: running elsewhere or done, skipped", key)
                return skipped
            if lease.takeovers:
                log.info("%s: resuming (taken over %d times)", key, lease.takeovers)
            if timeout is not None:
                lease.deadline = time.monotonic() + timeout() - 1.0
            token = _current.set(lease)
            task = asyncio.current_task()
            assert task is not None
            keeper = asyncio.create_task(_keep(lease, task))
            try:
                result = await fn(ctx, *args, **kwargs)
            except asyncio.CancelledError:
                if lease.lost:  # we stopped it ourselves: the new holder carries on
                    task.uncancel()
                    return skipped
                if timed_out():  # arq's timeout: arq does not retry it, and neither do we
                    await _end(lease, "failed", "timed out")
                    raise
                await _hand_back(lease, "worker stopping")
                raise  # arq puts it back in the queue as well
            except LeaseLost:
                log.warning("%s: lease lost before the end, left to its new holder", key)
                return skipped
            except BACKEND_DOWN as exc:
                await _hand_back(lease, f"{type(exc).__name__}: {exc}")
                raise
            except Exception as exc:
                await _end(lease, "failed", f"{type(exc).__name__}: {exc}")
                raise
            else:
                await _end(lease, "done")
                return result
            finally:
                keeper.cancel()
                _current.reset(token)

        return run  # type: ignore[return-value]

    return decorate


async def _hand_back(lease: Lease, why: str) -> None:
    """The job was interrupted (SIGTERM, or PostgreSQL / Valkey went away): queue it again."""
    status = "failed" if lease.takeovers + 1 >= MAX_INTERRUPTIONS else "queued"
    log.warning("%s interrupted (%s): %s", lease.key, why, status)
    # if even that fails, the lease simply runs out and the takeover cron re-queues the job
    with contextlib.suppress(*BACKEND_DOWN):
        await _end(lease, status, f"interrupted: {why}")


async def schedule(function: str, *args: object) -> None:
    """Queue a leased job from inside a transaction: its row commits with the caller's write
    and arq gets it after commit. If that enqueue is lost (Valkey down), the takeover cron
    queues it again, so a user's export or import is never silently dropped."""
    key = job_key(function, *args)

    async def enqueue() -> None:
        try:
            await queue().enqueue_job(function, *args, _job_id=f"{key}@{time.time_ns()}")
        except BACKEND_DOWN as exc:
            log.warning("could not queue %s now (%s): the takeover cron will", key, exc)

    # job_runs is global: this joins any open transaction (a tenant's too), so the row commits
    # with the caller's write, and arq hears of it only after that commit
    async with global_transaction() as conn:
        await queries.queue_run(conn, key, function, json.dumps(list(args)))
        after_commit(enqueue)


async def take_over_jobs(ctx: object = None) -> int:
    """Cron (every 5 s): re-queue jobs whose worker died (lease ran out) or whose queueing was
    lost; returns how many. Also forgets finished runs after KEEP_FINISHED_DAYS."""
    lost_after = 2 * get_settings().job_lease_seconds
    async with global_transaction() as conn:
        rows = await queries.requeue_due_runs(conn, float(lost_after))
        await queries.forget_finished_runs(conn, KEEP_FINISHED_DAYS)
    for row in rows:
        log.warning("taking over %s (its worker stopped renewing the lease)", row.key)
        args = json.loads(row.args)
        await queue().enqueue_job(row.function, *args, _job_id=f"{row.key}@{time.time_ns()}")
    return len(rows)


async def run_state(key: str) -> dict[str, object] | None:
    """What a page shows about a job: its status and whether it is resuming after a stop."""
    async with global_transaction() as conn:
        row = await queries.run_state(conn, key)
    if row is None:
        return None
    open_ = row.status in ("queued", "running")
    return {
        "status": row.status,
        "attempts": row.attempts,
        "takeovers": row.takeovers,
        "expired": row.expired,
        "resuming": open_ and (row.takeovers > 0 or bool(row.expired)),
    }
