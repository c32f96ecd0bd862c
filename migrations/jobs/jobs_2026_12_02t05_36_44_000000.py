"""Jobs: leases and heartbeats of long jobs (takeover of a dead worker's job); /readyz may read
which migrations are applied."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:36:44:000000"
VERSION = "1.38.0"
DESCRIPTION = "job leases; migration list readable for /readyz"

SQL = """
-- Global: one row per long job run (export, import, purge, backup, policy notices). It names the
-- arq function and its arguments (ids only), the worker holding the lease and until when; the
-- takeover cron re-queues a job whose lease ran out (its worker died) or whose queueing was lost.
create table job_runs (
    key text primary key,
    function text not null,
    args jsonb not null default '[]',
    status text not null default 'queued'
        check (status in ('queued', 'running', 'done', 'failed')),
    owner text,
    lease_until timestamptz,
    attempts integer not null default 0,
    takeovers integer not null default 0,
    error text,
    queued_at timestamptz not null default now(),
    started_at timestamptz,
    heartbeat_at timestamptz,
    finished_at timestamptz
);
create index job_runs_open on job_runs (status, lease_until) where status in ('queued', 'running');
create index job_runs_finished on job_runs (finished_at) where status in ('done', 'failed');

-- /readyz compares the applied migrations with the ones shipped (names only, no data).
grant select on migration to odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "jobs", DESCRIPTION, SQL)
