"""Accounts: a member can put the first-run checklist away (per person, per workspace)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T09:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "onboarding checklist hidden"

SQL = """
-- onboarding_hidden_at: when this member hid the dashboard's first-run checklist (null: shown
-- until every step is done). Written only through the tenant's own RLS policies.
alter table memberships add column onboarding_hidden_at timestamptz;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
