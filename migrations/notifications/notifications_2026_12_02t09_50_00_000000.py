"""Notifications: attachments of outbox mail (an invoice's PDF). The files live under the data
directory (mail_attachments/<workspace>/<id>), the row lists them: [{"name", "type", "path",
"size"}]. They are deleted once the mail is sent or given up."""

from app.core.migrations import sql_migration

ID = "2026-12-02T09:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox attachments"

SQL = """
alter table outbox add column attachments jsonb not null default '[]'::jsonb;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "notifications", DESCRIPTION, SQL)
