"""Ops: the register of encrypted database backups."""

from app.core.migrations import sql_migration

ID = "2026-11-25T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "backups register"

SQL = """
-- Global: platform data about whole-database backups (files in the backup targets); it names
-- files, sizes and checksums, never tenant records. Rows are kept after pruning as history.
create table backups (
    id uuid primary key,
    kind text not null check (kind in ('scheduled', 'manual')),
    backup_day date not null,
    status text not null default 'running'
        check (status in ('running', 'complete', 'failed', 'pruned')),
    file_name text not null unique,
    size_bytes bigint,
    sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
    key_id text,
    targets text[] not null default '{}',
    error text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    pruned_at timestamptz
);
-- At most one scheduled backup per day in progress or done: two workers cannot both take it.
create unique index backups_one_scheduled_per_day on backups (backup_day)
    where kind = 'scheduled' and status in ('running', 'complete');
create index backups_started on backups (started_at desc);
-- The register is history: the worker updates status, never deletes a row.
revoke delete, truncate on backups from odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "ops", DESCRIPTION, SQL)
