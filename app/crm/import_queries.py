"""The CSV import's SQL that Piccolo cannot say well, as named typed functions: the batches
inserted with unnest(), companies found by name, the imports list with the uploader's name,
Ordinary reads and writes of crm_imports go through the Piccolo tables
(app/crm/tables.py). Call inside the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import NoneType
from typing import get_args, get_origin
from uuid import UUID

import asyncpg
import msgspec

from app.core.paging import Params
from app.core.rows import fetch_as
from app.crm.published import CompanyFields

SEP = "\x1f"  # joins list fields for unnest (validated values never contain it)

# `key, id`: the oldest contact of the workspace ($1) having each email blind index of $2, by
# the contact_email_keys btree (`&&` on contacts.emails_bidx cannot use an index under RLS:
# array operators are not leakproof; `=` on text is)
OLDEST_CONTACT_BY_EMAIL_KEY = (
    "select distinct on (k.key) k.key, k.contact_id as id from contact_email_keys k"
    " join contacts c on c.tenant_id = k.tenant_id and c.id = k.contact_id"
    " where k.tenant_id = $1 and k.key = any($2::text[])"
    " order by k.key, c.created_at, c.id"
)


class ImportSummary(msgspec.Struct, frozen=True):
    """An import on the imports list."""

    id: UUID
    kind: str
    filename: str
    status: str
    total_rows: int
    rows_done: int
    rows_ok: int
    rows_failed: int
    created_at: datetime
    user_name: str


async def recent_imports(
    conn: asyncpg.Connection, tenant_id: UUID, limit: int
) -> list[ImportSummary]:
    """The workspace's latest imports with who uploaded them, newest first."""
    return await fetch_as(
        conn,
        ImportSummary,
        "select i.id, i.kind, i.filename, i.status, i.total_rows, i.rows_done, i.rows_ok,"
        " i.rows_failed, i.created_at, coalesce(u.name, 'Someone') as user_name"
        " from crm_imports i left join users u on u.id = i.user_id"
        " where i.tenant_id = $1 order by i.created_at desc limit $2",
        tenant_id,
        limit,
    )


class NewContact(msgspec.Struct, frozen=True):
    """A contact row of an import batch, emails and phones already sealed to `id`."""

    id: UUID
    first_name: str
    last_name: str
    emails_enc: list[str]
    emails_bidx: list[str]
    phones_enc: list[str]
    phones_bidx: list[str]
    title: str | None
    company_id: UUID | None
    tags: list[str]


class NewCompany(CompanyFields, frozen=True):
    """A company row of an import batch."""


class FailedRow(msgspec.Struct, frozen=True, rename={"sealed_cells": "raw"}):
    """A refused row of an import batch, its cells already sealed to `id` (stored as `raw`)."""

    id: UUID
    row_number: int
    reason: str
    sealed_cells: list[str]


async def companies_by_name(
    conn: asyncpg.Connection, tenant_id: UUID, lowered: list[str]
) -> dict[str, UUID]:
    """{lower-cased name: id} of the oldest company of each name in `lowered`."""
    rows = await conn.fetch(
        "select distinct on (sort_name) sort_name as key, id from companies"
        " where tenant_id = $1 and sort_name = any($2::text[]) order by sort_name, created_at",
        tenant_id,
        lowered,
    )
    return {r["key"]: r["id"] for r in rows}


async def insert_named_companies(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    owner_id: UUID | None,
    ids: list[UUID],
    names: list[str],
) -> None:
    """Companies with a name only (those an import's contacts name and that don't exist)."""
    await conn.execute(
        "insert into companies (id, tenant_id, name, owner_id)"
        " select u.id, $1, u.name, $2 from unnest($3::uuid[], $4::text[]) as u(id, name)",
        tenant_id,
        owner_id,
        ids,
        names,
    )


async def insert_created_activities(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    actor_id: UUID | None,
    subject_type: str,
    ids: list[UUID],
    summary: str,
    action: str = "created",
) -> None:
    """One "created" (or `action`) timeline entry for each of `ids`."""
    await conn.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary) select gen_random_uuid(), $1, $2, u.id, $3, $6, $4"
        " from unnest($5::uuid[]) as u(id)",
        tenant_id,
        subject_type,
        actor_id,
        summary,
        ids,
        action,
    )


async def insert_contacts(
    conn: asyncpg.Connection, tenant_id: UUID, owner_id: UUID | None, rows: list[NewContact]
) -> None:
    """A batch of contacts in one statement."""
    await insert_batch(conn, "contacts", {"tenant_id": tenant_id, "owner_id": owner_id}, rows)


async def insert_companies(
    conn: asyncpg.Connection, tenant_id: UUID, owner_id: UUID | None, rows: list[NewCompany]
) -> None:
    """A batch of companies in one statement."""
    await insert_batch(conn, "companies", {"tenant_id": tenant_id, "owner_id": owner_id}, rows)


async def insert_failed_rows(
    conn: asyncpg.Connection, tenant_id: UUID, import_id: UUID, rows: list[FailedRow]
) -> None:
    """Keep a batch's refused rows for the error report (a row already kept stays as it is)."""
    fixed = {"tenant_id": tenant_id, "import_id": import_id}
    await insert_batch(conn, "crm_import_errors", fixed, rows, " on conflict do nothing")


def _sql_type(annotation: object) -> str:
    """The SQL type of a batch Struct's field: uuid, text, a number, date, or text[] (a list of
    str)."""
    if get_origin(annotation) is list:
        return "text[]"
    [kind] = [a for a in get_args(annotation) if a is not NoneType] or [annotation]  # optional
    return {
        UUID: "uuid",
        str: "text",
        int: "int",
        float: "float8",
        Decimal: "numeric",
        date: "date",
    }[kind]


async def insert_batch(
    conn: asyncpg.Connection,
    table: str,
    fixed: Mapping[str, object],
    rows: Sequence[msgspec.Struct],
    suffix: str = "",
    leave_out: Collection[str] = (),
) -> None:
    """Insert `rows` (Structs of one type, a field per column, named as it encodes, but the
    fields `leave_out` names) in one statement through unnest(), each with the `fixed` columns
    too. A list field is sent joined by SEP (unnest would flatten an array of arrays) and split
    back by the database."""
    if not rows:
        return
    params = Params()
    names, picks, arrays, aliases = list(fixed), [params.add(v) for v in fixed.values()], [], []
    sep = ""  # its placeholder, once a list field needs it
    stored = [f for f in msgspec.structs.fields(type(rows[0])) if f.name not in leave_out]
    for i, field in enumerate(stored):
        sql_type = _sql_type(field.type)
        values = [getattr(r, field.name) for r in rows]
        names.append(field.encode_name)
        aliases.append(f"c{i}")
        if sql_type == "text[]":
            sep = sep or params.add(SEP)
            picks.append(f"string_to_array(u.c{i}, {sep})")
            arrays.append(f"{params.add([SEP.join(v) for v in values])}::text[]")
        else:
            picks.append(f"u.c{i}")
            arrays.append(f"{params.add(values)}::{sql_type}[]")
    await conn.execute(
        f"insert into {table} ({', '.join(names)}) select {', '.join(picks)}"
        f" from unnest({', '.join(arrays)}) as u({', '.join(aliases)}){suffix}",
        *params.values,
    )


class SealedImportRow(msgspec.Struct, frozen=True):
    """A failed import row's id and its sealed cells."""

    id: UUID
    raw: list[str]


async def every_failed_import_row(conn: asyncpg.Connection) -> AsyncIterator[SealedImportRow]:
    """Every failed import row of the workspace, streamed (the cells are sealed: the database
    can't search them)."""
    async for row in conn.cursor("select id, raw from crm_import_errors"):
        yield SealedImportRow(row["id"], list(row["raw"]))
