"""Custom fields on deals: each deal's values of the workspace's custom fields, keyed by the
field's id (the definitions are crm's custom_fields)."""

from app.core.migrations import sql_migration

ID = "2026-12-03T07:51:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "custom field values of deals"

SQL = """
alter table deals add column custom_values jsonb not null default '{}';
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
