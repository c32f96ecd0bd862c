"""Billing: remember which grace period's end was announced (exactly one notice per lapse)."""

from app.core.migrations import sql_migration

ID = "2026-11-25T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "grace period end notice"

SQL = "alter table billing_accounts add column grace_notice_for timestamptz;"


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "billing", DESCRIPTION, SQL)
