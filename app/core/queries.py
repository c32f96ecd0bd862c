"""Core's SQL, as named typed functions: the transaction scope, job leases (`job_runs`:
upserts and interval arithmetic on the database's clock, SKIP LOCKED takeovers) and the
tenant list. Ordinary reads and writes go through the Piccolo tables."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import answers, fetch_as, fetch_one_as, fetch_values


def begin_scoped(tenant_id: UUID | None, user_id: UUID | None) -> str:
    """BEGIN and `set_scope` as one simple query (one round trip). The ids are written as
    literals: each is re-read as a UUID first, so nothing but hex digits and dashes is sent."""
    tenant = str(UUID(str(tenant_id))) if tenant_id else ""
    user = str(UUID(str(user_id))) if user_id else ""
    return (
        f"BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true),"
        f" set_config('app.user_id', '{user}', true)"
    )


async def tenant_ids(conn: asyncpg.Connection) -> list[UUID]:
    """Every tenant's id (through the definer function: RLS hides the tenants themselves)."""
    return await fetch_values(conn, UUID, "select t.id from odex_private.tenant_ids() as t(id)")


# ---- job leases --------------------------------------------------------------------------


class Claimed(msgspec.Struct, frozen=True):
    """A lease just taken: the run's attempts and takeovers so far."""

    attempts: int
    takeovers: int


async def claim_lease(
    conn: asyncpg.Connection,
    key: str,
    function: str,
    args_json: str,
    owner: str,
    ttl: float,
    *,
    repeatable: bool,
) -> Claimed | None:
    """Take the job's lease for `ttl` seconds unless a live worker holds it (or, for a one-off
    job, it is done); None when not taken."""
    done_ok = "true" if repeatable else "job_runs.status <> 'done'"
    return await fetch_one_as(
        conn,
        Claimed,
        "insert into job_runs (key, function, args, status, owner, lease_until, attempts,"
        " started_at, heartbeat_at) values ($1, $2, $3::jsonb, 'running', $4,"
        " now() + make_interval(secs => $5), 1, now(), now())"
        " on conflict (key) do update set status = 'running', owner = $4,"
        " lease_until = now() + make_interval(secs => $5), attempts = job_runs.attempts + 1,"
        " started_at = now(), heartbeat_at = now(), finished_at = null, error = null"
        f" where {done_ok} and (job_runs.status <> 'running' or job_runs.lease_until < now())"
        " returning attempts, takeovers",
        key,
        function,
        args_json,
        owner,
        ttl,
    )


async def renew_lease(conn: asyncpg.Connection, key: str, owner: str, ttl: float) -> bool:
    """Extend a running lease this owner holds by `ttl` seconds; False when it lost it."""
    status = await conn.execute(
        "update job_runs set lease_until = now() + make_interval(secs => $3),"
        " heartbeat_at = now() where key = $1 and owner = $2 and status = 'running'",
        key,
        owner,
        ttl,
    )
    return bool(status == "UPDATE 1")


async def end_lease(
    conn: asyncpg.Connection, key: str, owner: str, status: str, error: str | None
) -> None:
    """Record a run's outcome: done or failed (the owner stays, as history), or queued again
    (handed back, counted as a takeover)."""
    await conn.execute(
        "update job_runs set status = $3, error = $4, lease_until = null,"
        " owner = case when $3 = 'queued' then null else owner end,"
        " finished_at = case when $3 in ('done', 'failed') then now() end,"
        " queued_at = now(), takeovers = takeovers + $5"
        " where key = $1 and owner = $2",
        key,
        owner,
        status,
        error,
        1 if status == "queued" else 0,
    )


async def lock_held_lease(conn: asyncpg.Connection, key: str, owner: str) -> bool:
    """Lock the run's row if this owner still holds its lease (until commit)."""
    return await answers(
        conn,
        "select 1 from job_runs where key = $1 and owner = $2 and status = 'running' for update",
        key,
        owner,
    )


async def queue_run(conn: asyncpg.Connection, key: str, function: str, args_json: str) -> None:
    """Record a job as queued (again, unless it is running now)."""
    await conn.execute(
        "insert into job_runs (key, function, args) values ($1, $2, $3::jsonb)"
        " on conflict (key) do update set status = 'queued', queued_at = now(),"
        " error = null, finished_at = null where job_runs.status <> 'running'",
        key,
        function,
        args_json,
    )


class DueRun(msgspec.Struct, frozen=True):
    """A run re-queued by the takeover cron."""

    key: str
    function: str
    args: str  # the arguments as JSON text
    status: str


async def requeue_due_runs(conn: asyncpg.Connection, lost_after: float) -> list[DueRun]:
    """Queue again the runs whose lease ran out, and those queued `lost_after` seconds ago
    that never started (their enqueue was lost); the running ones count a takeover."""
    return await fetch_as(
        conn,
        DueRun,
        "with due as (select key from job_runs where (status = 'running' and lease_until"
        " < now()) or (status = 'queued' and queued_at < now() - make_interval(secs => $1))"
        " for update skip locked)"
        " update job_runs j set status = 'queued', owner = null, lease_until = null,"
        " queued_at = now(), takeovers = j.takeovers"
        " + case when j.status = 'running' then 1 else 0 end"
        " from due where j.key = due.key returning j.key, j.function, j.args::text as args,"
        " j.status",
        lost_after,
    )


async def forget_finished_runs(conn: asyncpg.Connection, days: int) -> None:
    """Delete runs that finished more than `days` days ago."""
    await conn.execute(
        "delete from job_runs where status in ('done', 'failed')"
        " and finished_at < now() - make_interval(days => $1)",
        days,
    )


class RunState(msgspec.Struct, frozen=True):
    """A run's status as a page shows it."""

    status: str
    attempts: int
    takeovers: int
    expired: bool | None  # the lease ran out (None: no lease)


async def run_state(conn: asyncpg.Connection, key: str) -> RunState | None:
    """The run's status, counts and whether its lease has run out."""
    return await fetch_one_as(
        conn,
        RunState,
        "select status, attempts, takeovers, lease_until < now() as expired"
        " from job_runs where key = $1",
        key,
    )
