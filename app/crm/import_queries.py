"""The CSV import's SQL that Piccolo cannot say well, as named typed functions: the batches
inserted with unnest(), companies found by name, the imports list with the uploader's name,
the import's ending. Ordinary reads and writes of crm_imports go through the Piccolo tables
(app/crm/tables.py). Call inside the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import fetch_as

SEP = "\x1f"  # joins list fields for unnest (validated values never contain it)


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


class NewCompany(msgspec.Struct, frozen=True):
    """A company row of an import batch."""

    id: UUID
    name: str
    domain: str | None
    industry: str | None
    size: str | None
    address: str | None


class FailedRow(msgspec.Struct, frozen=True):
    """A refused row of an import batch, its cells already sealed to `id`."""

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
) -> None:
    """One "created" timeline entry for each of `ids`."""
    await conn.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary) select gen_random_uuid(), $1, $2, u.id, $3, 'created', $4"
        " from unnest($5::uuid[]) as u(id)",
        tenant_id,
        subject_type,
        actor_id,
        summary,
        ids,
    )


async def insert_contacts(
    conn: asyncpg.Connection, tenant_id: UUID, owner_id: UUID | None, rows: list[NewContact]
) -> None:
    """A batch of contacts in one statement (each list field joined by SEP for unnest)."""
    await conn.execute(
        "insert into contacts (id, tenant_id, owner_id, first_name, last_name, emails_enc,"
        " emails_bidx, phones_enc, phones_bidx, title, company_id, tags)"
        " select u.id, $1, $2, u.fn, u.ln, string_to_array(u.em, $3), string_to_array(u.emi, $3),"
        " string_to_array(u.ph, $3), string_to_array(u.phi, $3), u.ti, u.co,"
        " string_to_array(u.tg, $3)"
        " from unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
        " $10::text[], $11::text[], $12::uuid[], $13::text[])"
        " as u(id, fn, ln, em, emi, ph, phi, ti, co, tg)",
        tenant_id,
        owner_id,
        SEP,
        [r.id for r in rows],
        [r.first_name for r in rows],
        [r.last_name for r in rows],
        [SEP.join(r.emails_enc) for r in rows],
        [SEP.join(r.emails_bidx) for r in rows],
        [SEP.join(r.phones_enc) for r in rows],
        [SEP.join(r.phones_bidx) for r in rows],
        [r.title for r in rows],
        [r.company_id for r in rows],
        [SEP.join(r.tags) for r in rows],
    )


async def insert_companies(
    conn: asyncpg.Connection, tenant_id: UUID, owner_id: UUID | None, rows: list[NewCompany]
) -> None:
    """A batch of companies in one statement."""
    await conn.execute(
        "insert into companies (id, tenant_id, owner_id, name, domain, industry, size, address)"
        " select u.id, $1, $2, u.name, u.domain, u.industry, u.size, u.address"
        " from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])"
        " as u(id, name, domain, industry, size, address)",
        tenant_id,
        owner_id,
        [r.id for r in rows],
        [r.name for r in rows],
        [r.domain for r in rows],
        [r.industry for r in rows],
        [r.size for r in rows],
        [r.address for r in rows],
    )


async def insert_failed_rows(
    conn: asyncpg.Connection, tenant_id: UUID, import_id: UUID, rows: list[FailedRow]
) -> None:
    """Keep a batch's refused rows for the error report (a row already kept stays as it is)."""
    await conn.execute(
        "insert into crm_import_errors (id, tenant_id, import_id, row_number, reason, raw)"
        " select u.id, $1, $2, u.n, u.reason, string_to_array(u.raw, $3)"
        " from unnest($4::uuid[], $5::int[], $6::text[], $7::text[]) as u(id, n, reason, raw)"
        " on conflict do nothing",
        tenant_id,
        import_id,
        SEP,
        [r.id for r in rows],
        [r.row_number for r in rows],
        [r.reason for r in rows],
        [SEP.join(r.sealed_cells) for r in rows],
    )


async def finish_import(
    conn: asyncpg.Connection, import_id: UUID, status: str, error: str | None
) -> None:
    """The import's ending: done or failed (why), the total at least the rows handled."""
    await conn.execute(
        "update crm_imports set status = $2, error = $3, total_rows = greatest(total_rows,"
        " rows_done), updated_at = now() where id = $1",
        import_id,
        status,
        error,
    )


async def fail_import(conn: asyncpg.Connection, import_id: UUID, error: str) -> None:
    """Mark the import failed, keeping the reason it already has (else `error`)."""
    await conn.execute(
        "update crm_imports set status = 'failed', error = coalesce(error, $2),"
        " updated_at = now() where id = $1",
        import_id,
        error,
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
