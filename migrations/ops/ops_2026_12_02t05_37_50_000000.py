"""Ops: verified backup copies, and operator alerts (failed or unverifiable backups)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:37:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "backup verification, operator alerts"

SQL = """
-- When every copy of the backup was last read back, authenticated and matched its SHA-256;
-- the copies (target labels) that failed, with why.
alter table backups add column verified_at timestamptz;
alter table backups add column verify_error text;
-- Global: alerts for the platform's operators (staff), not for a workspace: a failed backup,
-- a copy that no longer verifies, backup targets on one disk. No personal data.
create table operator_alerts (
    id uuid primary key,
    kind text not null check (length(kind) <= 60),
    summary text not null check (length(summary) <= 500),
    details text not null default '' check (length(details) <= 4000),
    created_at timestamptz not null default now(),
    acknowledged_at timestamptz,
    acknowledged_by uuid references users (id) on delete set null
);
create index operator_alerts_recent on operator_alerts (created_at desc);
revoke delete, truncate on operator_alerts from odex_app;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "ops", DESCRIPTION, SQL)
