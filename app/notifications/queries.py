"""The notifications' SQL that Piccolo cannot say well, as named typed functions: the outbox
row a sender locks (SKIP LOCKED) and the retry arithmetic on the database's clock. Ordinary
reads and writes go through the Piccolo tables (app/notifications/tables.py, the outbox's
`OutboxMessage` in app/core/mail.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import execute_count, fetch_values, maybe_row_as


class OutboxMail(msgspec.Struct, frozen=True):
    """A queued service mail as the sender reads it."""

    id: int
    kind: str
    to_addr: str
    subject: str
    body_text: str
    created_at: datetime
    attempts: int
    workspace_id: UUID | None
    attachments: str | None  # jsonb as text (app.core.mail_attachments.listed reads it)


async def lock_due_mail(conn: asyncpg.Connection, message_id: int | None) -> OutboxMail | None:
    """The next unsent mail that is due (or just `message_id`, if due), locked; another
    sender skips it."""
    query = (
        "select id, kind, to_addr, subject, body_text, created_at, attempts, workspace_id,"
        " attachments from outbox where sent_at is null and failed_at is null"
        " and (next_attempt_at is null or next_attempt_at <= now())"
        + (" and id = $1" if message_id is not None else "")
        + " order by id limit 1 for update skip locked"
    )
    args = [message_id] if message_id is not None else []
    return maybe_row_as(OutboxMail, await conn.fetchrow(query, *args))


async def give_up_mail(conn: asyncpg.Connection, message_id: int, reason: str, body: str) -> None:
    """Record the last failed attempt and stop trying."""
    await conn.execute(
        "update outbox set attempts = attempts + 1, last_error = $2, failed_at = now(),"
        " body_text = $3, next_attempt_at = null where id = $1",
        message_id,
        reason,
        body,
    )


async def retry_mail_later(
    conn: asyncpg.Connection, message_id: int, reason: str, wait: timedelta
) -> None:
    """Record a failed attempt; the next one is due after `wait` (database clock)."""
    await conn.execute(
        "update outbox set attempts = attempts + 1, last_error = $2,"
        " next_attempt_at = now() + $3::interval where id = $1",
        message_id,
        reason,
        wait,
    )


async def delete_notifications_about(
    conn: asyncpg.Connection, link_prefix: str, patterns: list[str]
) -> int:
    """Delete the open workspace's notifications linking under `link_prefix` or whose title or
    body matches any of the ILIKE patterns; how many."""
    return await execute_count(
        conn,
        "delete from notifications where link like $1 or title ilike any($2::text[])"
        " or body ilike any($2::text[])",
        link_prefix + "%",
        patterns,
    )


_TO_PERSON = "(lower(to_addr) = any($1::text[]) or body_text ilike any($2::text[]))"


async def unsent_mail_to_person(
    conn: asyncpg.Connection, emails: list[str], patterns: list[str]
) -> list[int]:
    """Unsent mail to any of the (lower-case) addresses or whose body matches a pattern."""
    return await fetch_values(
        conn, int, f"select id from outbox where sent_at is null and {_TO_PERSON}", emails, patterns
    )


async def delete_mail_to_person(
    conn: asyncpg.Connection, emails: list[str], patterns: list[str]
) -> int:
    """Delete the mail to any of the addresses or whose body matches a pattern; how many."""
    return await execute_count(conn, f"delete from outbox where {_TO_PERSON}", emails, patterns)


_TO_CONTACT = "workspace_id = $1 and lower(to_addr) = any($2::text[])"


async def waiting_mail_to_contact(
    conn: asyncpg.Connection, workspace_id: UUID, emails: list[str]
) -> list[int]:
    """A workspace's mail to any of the (lower-case) addresses still waiting to be sent."""
    return await fetch_values(
        conn,
        int,
        f"select id from outbox where sent_at is null and failed_at is null and {_TO_CONTACT}",
        workspace_id,
        emails,
    )


async def delete_mail_to_contact(
    conn: asyncpg.Connection, workspace_id: UUID, emails: list[str]
) -> int:
    """Delete a workspace's mail to any of the addresses; how many."""
    return await execute_count(
        conn, f"delete from outbox where {_TO_CONTACT}", workspace_id, emails
    )


async def delete_expired_mail(conn: asyncpg.Connection, keep: timedelta) -> int:
    """Sent mail older than `keep`, and a deletion's confirmation once sent (its account is
    gone); how many."""
    return await execute_count(
        conn,
        "delete from outbox where sent_at is not null and (sent_at < now() - $1::interval"
        " or (kind = 'deletion' and not exists (select 1 from users u"
        " where lower(u.email) = lower(outbox.to_addr))))",
        keep,
    )
