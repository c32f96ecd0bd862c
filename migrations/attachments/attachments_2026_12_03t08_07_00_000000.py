"""Attachments: where each file's bytes are kept (`stored_in`), so that `odex attachments
migrate-storage` can move them between the data dir and buckets file by file while downloads
read from where the row says. NULL (every file stored before this): wherever the configuration
says now, else the data dir, else the former bucket."""

from app.core.migrations import sql_migration

ID = "2026-12-03T08:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "attachments stored_in"

SQL = """
alter table attachments add column stored_in text
    check (stored_in = 'dir' or stored_in like 's3:%');
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "attachments", DESCRIPTION, SQL)
