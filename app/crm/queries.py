"""The CRM's SQL that Piccolo cannot say well, as named typed functions: joins with the users,
deals, stages and invoices of other domains (the lists' keyset pages: app/crm/list_queries.py;
the dashboard's: app/crm/dashboard_queries.py). Ordinary single-table reads and writes go
through the Piccolo tables (app/crm/tables.py). Call inside the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import Choices, answers, execute_count, fetch_as, fetch_choices

# ---- record pages ------------------------------------------------------------------------


async def company_with_owner(
    conn: asyncpg.Connection, company_id: UUID
) -> dict[str, object] | None:
    """Every column of the company and `owner_name` (the record page's and the form's values)."""
    row = await conn.fetchrow(
        "select c.*, u.name as owner_name from companies c"
        " left join users u on u.id = c.owner_id where c.id = $1",
        company_id,
    )
    return None if row is None else dict(row)


async def contact_with_names(
    conn: asyncpg.Connection, contact_id: UUID
) -> dict[str, object] | None:
    """Every column of the contact with `company_name` and `owner_name` (still sealed)."""
    row = await conn.fetchrow(
        "select c.*, co.name as company_name, u.name as owner_name from contacts c"
        " left join companies co on co.id = c.company_id"
        " left join users u on u.id = c.owner_id where c.id = $1",
        contact_id,
    )
    return None if row is None else dict(row)


# ---- related records of other domains ----------------------------------------------------


class RelatedDeal(msgspec.Struct, frozen=True):
    """A deal on a company's or contact's page."""

    id: UUID
    title: str
    amount: Decimal
    currency: str
    stage_name: str | None
    stage_kind: str | None


class RelatedInvoice(msgspec.Struct):
    """An invoice on a company's page (the invoice list's rows add to it)."""

    id: UUID
    number: int
    status: str
    currency: str
    total: Decimal
    due_date: date


RELATED_DEAL = "d.id, d.title, d.amount, d.currency, s.name as stage_name, s.kind as stage_kind"


# the deals of a company ($2), or those a contact ($2) takes part in: (from, where), deals as `d`
DEALS_OF = {
    "company": ("deals d", "d.tenant_id = $1 and d.company_id = $2"),
    "contact": (
        "deal_contacts dc join deals d on d.id = dc.deal_id",
        "dc.tenant_id = $1 and dc.contact_id = $2",
    ),
}


async def related_deals(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    kind: Literal["company", "contact"],
    record_id: UUID,
    limit: int,
) -> list[RelatedDeal]:
    """Deals of a company, or those a contact takes part in, with their stage, newest first."""
    deals, where = DEALS_OF[kind]
    return await fetch_as(
        conn,
        RelatedDeal,
        f"select {RELATED_DEAL} from {deals} left join stages s on s.id = d.stage_id"
        f" where {where} order by d.created_at desc limit $3",
        tenant_id,
        record_id,
        limit,
    )


async def company_invoices(
    conn: asyncpg.Connection, tenant_id: UUID, company_id: UUID, limit: int
) -> list[RelatedInvoice]:
    """Invoices of a company, newest number first."""
    return await fetch_as(
        conn,
        RelatedInvoice,
        "select id, number, status, currency, total, due_date from invoices"
        " where tenant_id = $1 and company_id = $2 order by number desc limit $3",
        tenant_id,
        company_id,
        limit,
    )


async def company_choices(conn: asyncpg.Connection, ids: list[UUID]) -> Choices:
    """The companies `ids` (a form's chosen ones) by name (the pickers search the rest)."""
    return await fetch_choices(
        conn,
        "select id, name from companies where id = any($1::uuid[]) order by lower(name), id",
        ids,
    )


async def company_has_invoices(conn: asyncpg.Connection, company_id: UUID) -> bool:
    """Whether invoices name the company (they must be kept, so it cannot be deleted)."""
    return await answers(conn, "select 1 from invoices where company_id = $1 limit 1", company_id)


# ---- the timeline ------------------------------------------------------------------------


class TimelineRow(msgspec.Struct, frozen=True):
    """An activity with its record and its actor's name (None when the actor is gone);
    `changes` is the stored diff as JSON text."""

    created_at: datetime
    actor: str | None
    action: str
    summary: str
    changes: str
    subject_type: str
    subject_id: UUID
    id: UUID


async def insert_activity(
    conn: asyncpg.Connection,
    activity_id: UUID,
    tenant_id: UUID,
    subject: tuple[str, UUID],
    actor_id: UUID | None,
    action: str,
    summary: str,
    changes: str,
) -> None:
    """Append one timeline entry (`changes`: its JSON). Plain SQL: every CRM write and every
    board move appends one, so the Piccolo insert's object and query building is skipped."""
    await conn.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary, changes) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        activity_id,
        tenant_id,
        *subject,
        actor_id,
        action,
        summary,
        changes,
    )


async def timeline_rows(
    conn: asyncpg.Connection,
    limit: int,
    subject: tuple[str, UUID] | None = None,
    before: tuple[datetime, UUID] | None = None,
) -> list[TimelineRow]:
    """The latest timeline entries, newest first: a record's (`subject`: its type and id), or
    the whole workspace's (the dashboard's recent activity); with `before` (an entry's time
    and id), the record's entries older than that one."""
    where, args = "", []
    if subject:
        where, args = "where a.subject_type = $2 and a.subject_id = $3", [*subject]
        if before:
            where += " and (a.created_at, a.id) < ($4, $5)"
            args += before
    return await fetch_as(
        conn,
        TimelineRow,
        "select a.created_at, u.name as actor, a.action, a.summary, a.changes::text as changes,"
        " a.subject_type, a.subject_id, a.id from activities a"
        f" left join users u on u.id = a.actor_id {where}"
        " order by a.created_at desc, a.id desc limit $1",
        limit,
        *args,
    )


# ---- erasure -----------------------------------------------------------------------------


class SealedNote(msgspec.Struct, frozen=True):
    """A note's id and its sealed body (app/crm/secure.py opens it)."""

    id: UUID
    body_enc: str


async def every_note(conn: asyncpg.Connection) -> AsyncIterator[SealedNote]:
    """Every note of the workspace, streamed (bodies are sealed: the database can't search)."""
    async for row in conn.cursor("select id, body_enc from notes"):
        yield SealedNote(row["id"], row["body_enc"])


async def replace_in_timeline(conn: asyncpg.Connection, old: str, new: str) -> int:
    """Replace the JSON text `old` by `new` in every timeline diff holding it; how many."""
    return await execute_count(
        conn,
        "update activities set changes = replace(changes::text, $1, $2)::jsonb"
        " where strpos(changes::text, $1) > 0",
        old,
        new,
    )
