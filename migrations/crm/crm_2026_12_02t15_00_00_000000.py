"""CSV imports of contacts say what to do with a row whose email address a contact of the
workspace already has: update that contact, skip the row, or create a duplicate."""

from app.core.migrations import sql_migration

ID = "2026-12-02T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "crm_imports.on_duplicate: update, skip or create"

SQL = """
alter table crm_imports add column on_duplicate text not null default 'create'
    check (on_duplicate in ('update', 'skip', 'create'));
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
