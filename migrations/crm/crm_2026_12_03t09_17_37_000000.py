"""Bulk changes may set (or clear) a custom field on the records of a list ("custom")."""

from app.core.migrations import sql_migration

ID = "2026-12-03T09:17:37:000000"
VERSION = "1.40.0"
DESCRIPTION = "bulk changes that set a custom field"

SQL = """
alter table bulk_changes drop constraint bulk_changes_action_check;
alter table bulk_changes add constraint bulk_changes_action_check
    check (action in ('owner', 'add_tag', 'remove_tag', 'delete', 'stage', 'custom', 'undo'));
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
