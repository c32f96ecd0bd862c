"""The support desk's SQL that Piccolo cannot say well, as named typed functions: the inbox's
page (app.core.paging's keyset window), the status counts, and the lookups by address in any case.
Ordinary reads and writes go through the Piccolo tables (app/support/tables.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.paging import Page, Params, SortSpec, Window, like_pattern, window_page
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


LATEST_ACTIVITY = SortSpec("Latest activity", ("updated_at", "id"), ("ts", "int"), descending=True)


async def inbox_page(
    conn: asyncpg.Connection, status: str | None, query: str, window: Window
) -> Page:
    """One page of tickets, newest activity first: of one status (None: all), whose subject,
    name or email contains `query` (empty: all)."""
    params = Params()
    where: list[str] = []
    if status is not None:
        where.append(f"status = {params.add(status)}")
    if query:
        n = params.add(like_pattern(query))
        where.append(f"(lower(subject) like {n} or lower(name) like {n} or lower(email) like {n})")
    return await window_page(
        conn, window, select="*", from_sql="support_tickets", where=where, params=params
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
