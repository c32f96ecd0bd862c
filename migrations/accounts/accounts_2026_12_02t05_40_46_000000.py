"""Accounts: a user's own memberships are visible across workspaces only outside a workspace.

Permissive policies are OR-ed: with `own_memberships` applying inside a workspace too, a user
saw their membership rows of *other* workspaces there (an owner elsewhere could be read as
an owner here). The extra visibility now applies only when no workspace is set
(`user_transaction`: listing one's workspaces); inside a workspace only its rows exist.
"""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:40:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "own memberships visible only outside a workspace"

SQL = """
drop policy own_memberships on memberships;
create policy own_memberships on memberships for select
    using (
        (select nullif(current_setting('app.tenant_id', true), '')) is null
        and user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid
    );
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
