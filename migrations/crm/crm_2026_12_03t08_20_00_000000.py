"""CSV imports can be of deals too (the deals domain registers its import kind), and count the
companies they created for rows that named a company the workspace didn't have."""

from app.core.migrations import sql_migration

ID = "2026-12-03T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "crm_imports.kind: contacts, companies or deals; companies_created"

SQL = """
alter table crm_imports drop constraint crm_imports_kind_check;
alter table crm_imports add constraint crm_imports_kind_check
    check (kind in ('contacts', 'companies', 'deals'));
alter table crm_imports add column companies_created integer not null default 0;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
