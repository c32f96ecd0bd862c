"""Accounts: outside a workspace a user sees the workspaces they belong to (names, status).

The workspace switcher lists a user's workspaces in one query (memberships joined to
tenants) under `user_transaction`, instead of one tenant transaction per workspace. Like
`own_memberships`, the visibility applies only when no workspace is set; inside a workspace
only its own tenant row exists.
"""

from app.core.migrations import sql_migration

ID = "2026-12-02T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "own workspaces visible outside a workspace"

SQL = """
create policy own_workspaces on tenants for select
    using (
        (select nullif(current_setting('app.tenant_id', true), '')) is null
        and exists (
            select 1 from memberships m
             where m.tenant_id = tenants.id
               and m.user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid
        )
    );
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
