"""Record versions on contacts, companies: an edit or delete names the version it was made
from (`update ... where id = $1 and version = $2`), so a stale form is refused, never applied."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:38:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "versions of contacts and companies (no lost updates)"

SQL = """
alter table contacts add column version integer not null default 1 check (version > 0);
alter table companies add column version integer not null default 1 check (version > 0);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
