"""Notifications: outbox retries with backoff (next attempt, final failure) and the workspace a
mail was written for (whose admins hear when it could not be delivered)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:47:39:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox backoff, final failure, workspace"

SQL = """
-- next_attempt_at: when a failed mail is tried again (exponential backoff, for MAIL_RETRY_HOURS);
-- failed_at: given up (address refused, or still failing after that), with last_error saying why.
-- workspace_id names the workspace whose action queued the mail (no foreign key: the outbox is
-- global and outlives a deleted workspace; it is deliberately not called tenant_id).
alter table outbox
    add column next_attempt_at timestamptz,
    add column failed_at timestamptz,
    add column workspace_id uuid;
drop index outbox_unsent;
create index outbox_due on outbox (next_attempt_at nulls first, id)
    where sent_at is null and failed_at is null;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "notifications", DESCRIPTION, SQL)
