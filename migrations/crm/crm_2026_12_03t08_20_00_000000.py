"""CSV imports can be of deals too (the deals domain registers its import kind)."""

from app.core.migrations import sql_migration

ID = "2026-12-03T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "crm_imports.kind: contacts, companies or deals"

SQL = """
alter table crm_imports drop constraint crm_imports_kind_check;
alter table crm_imports add constraint crm_imports_kind_check
    check (kind in ('contacts', 'companies', 'deals'));
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
