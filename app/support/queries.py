"""The support desk's SQL that Piccolo cannot say well, as named typed functions: the inbox's
keyset page (a row comparison), the status counts, and the lookups by address in any case.
Ordinary reads and writes go through the Piccolo tables (app/support/tables.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import fetch_as


class TicketRow(msgspec.Struct, frozen=True):
    """A support ticket as the inbox lists it."""

    id: int
    user_id: UUID | None
    name: str
    email: str
    topic: str
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime


async def inbox_page(
    conn: asyncpg.Connection,
    status: str | None,
    pattern: str | None,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[TicketRow]:
    """Up to `limit` tickets, newest activity first: of one status (None: all), whose subject,
    name or email matches the lower-case LIKE `pattern` (None: all), older than `before`."""
    conditions: list[str] = ["true"]
    args: list[object] = []
    if status is not None:
        args.append(status)
        conditions.append(f"status = ${len(args)}")
    if pattern is not None:
        args.append(pattern)
        n = len(args)
        conditions.append(
            f"(lower(subject) like ${n} or lower(name) like ${n} or lower(email) like ${n})"
        )
    if before is not None:
        args += list(before)
        conditions.append(f"(updated_at, id) < (${len(args) - 1}, ${len(args)})")
    return await fetch_as(
        conn,
        TicketRow,
        f"select * from support_tickets where {' and '.join(conditions)}"
        f" order by updated_at desc, id desc limit {int(limit)}",
        *args,
    )


async def tickets_by_status(conn: asyncpg.Connection) -> dict[str, int]:
    """How many tickets have each status (statuses with none are missing)."""
    rows = await conn.fetch("select status, count(*) from support_tickets group by status")
    return {str(row["status"]): int(row["count"]) for row in rows}


async def delete_tickets_of(conn: asyncpg.Connection, email: str, user_id: UUID | None) -> int:
    """Delete the tickets from this address (any case) or this user; how many."""
    rows = await conn.fetch(
        "delete from support_tickets where lower(email) = lower($1) or user_id = $2 returning id",
        email,
        user_id,
    )
    return len(rows)


class MessageRow(msgspec.Struct, frozen=True):
    """A message of a ticket's thread."""

    id: int
    ticket_id: int
    author: str
    staff_user_id: UUID | None
    body: str
    created_at: datetime


class TicketSummary(msgspec.Struct, frozen=True):
    """A person's ticket with its number of messages (the "My data" page)."""

    id: int
    created_at: datetime
    subject: str
    topic: str
    status: str
    email: str
    messages: int


async def tickets_of(
    conn: asyncpg.Connection, user_id: UUID | None, email: str
) -> list[TicketSummary]:
    """The person's tickets (by account or by address in any case), newest first."""
    return await fetch_as(
        conn,
        TicketSummary,
        "select t.id, t.created_at, t.subject, t.topic, t.status, t.email,"
        " (select count(*) from support_messages m where m.ticket_id = t.id) as messages"
        " from support_tickets t where t.user_id = $1 or lower(t.email) = lower($2)"
        " order by t.created_at desc",
        user_id,
        email,
    )
