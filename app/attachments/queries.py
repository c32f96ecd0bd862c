"""The attachments' SQL as typed functions; call inside the caller's tenant transaction."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import maybe_row_as, rows_as

# the record tables an attachment can belong to (its subject_type -> table)
RECORD_TABLES = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "invoice": "invoices",
}


class AttachmentRow(msgspec.Struct, frozen=True):
    """An attachment as lists and downloads need it."""

    id: UUID
    subject_type: str
    subject_id: UUID
    file_name: str
    content_type: str
    size_bytes: int
    has_thumbnail: bool
    uploaded_by: UUID | None
    uploader: str | None
    created_at: datetime
    stored_in: str | None  # where its bytes are (app/attachments/store.py)

    @property
    def size_label(self) -> str:
        size = float(self.size_bytes)
        for unit in ("bytes", "KB", "MB"):
            if size < 1024:
                return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            size /= 1024
        return f"{size:.1f} GB"


_SELECT = (
    "select a.id, a.subject_type, a.subject_id, a.file_name, a.content_type, a.size_bytes,"
    " a.has_thumbnail, a.uploaded_by, u.name as uploader, a.created_at, a.stored_in"
    " from attachments a left join users u on u.id = a.uploaded_by"
)


async def record_exists(conn: asyncpg.Connection, subject_type: str, subject_id: UUID) -> bool:
    """Is the record in the current workspace (RLS hides every other one)?"""
    table = RECORD_TABLES.get(subject_type)
    if table is None:
        return False
    # the table name comes from the fixed mapping above, never from input
    found = await conn.fetchval(f"select 1 from {table} where id = $1", subject_id)
    return found is not None


async def attachments_of(
    conn: asyncpg.Connection, subject_type: str, subject_id: UUID
) -> list[AttachmentRow]:
    """A record's attachments, newest first."""
    rows = await conn.fetch(
        _SELECT + " where a.subject_type = $1 and a.subject_id = $2"
        " order by a.created_at desc, a.id",
        subject_type,
        subject_id,
    )
    return rows_as(AttachmentRow, rows)


async def attachment(conn: asyncpg.Connection, attachment_id: UUID) -> AttachmentRow | None:
    """One attachment of the current workspace (None: missing or another workspace's)."""
    row = await conn.fetchrow(_SELECT + " where a.id = $1", attachment_id)
    return maybe_row_as(AttachmentRow, row)


async def lock_storage(conn: asyncpg.Connection, tenant_id: UUID) -> None:
    """Serialise the workspace's uploads until the transaction ends (the storage check)."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('attachments:' || $1, 0))",
        str(tenant_id),
    )


async def stored_bytes(conn: asyncpg.Connection) -> int:
    """The bytes the workspace's attachments use."""
    return int(await conn.fetchval("select coalesce(sum(size_bytes), 0) from attachments"))


async def insert_attachment(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    attachment_id: UUID,
    subject: tuple[str, UUID],
    file_name: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    has_thumbnail: bool,
    uploaded_by: UUID,
    stored_in: str,
) -> None:
    await conn.execute(
        "insert into attachments (id, tenant_id, subject_type, subject_id, file_name,"
        " content_type, size_bytes, sha256, has_thumbnail, uploaded_by, stored_in)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        attachment_id,
        tenant_id,
        subject[0],
        subject[1],
        file_name,
        content_type,
        size_bytes,
        sha256,
        has_thumbnail,
        uploaded_by,
        stored_in,
    )


async def delete_attachment(conn: asyncpg.Connection, attachment_id: UUID) -> bool:
    """Delete one row; False when it was not there (already deleted, or hidden by RLS)."""
    result = await conn.execute("delete from attachments where id = $1", attachment_id)
    return bool(result != "DELETE 0")


async def delete_of_record(
    conn: asyncpg.Connection, subject_type: str, subject_id: UUID
) -> list[UUID]:
    """Delete a record's attachments; their ids (whose files go next)."""
    rows = await conn.fetch(
        "delete from attachments where subject_type = $1 and subject_id = $2 returning id",
        subject_type,
        subject_id,
    )
    return [r["id"] for r in rows]


async def ids_in_workspace(conn: asyncpg.Connection) -> set[UUID]:
    return {r["id"] for r in await conn.fetch("select id from attachments")}


async def for_export(conn: asyncpg.Connection, own_user: UUID | None) -> list[AttachmentRow]:
    """Every attachment of the workspace (or only those `own_user` uploaded), oldest first."""
    rows = await conn.fetch(
        _SELECT + " where $1::uuid is null or a.uploaded_by = $1 order by a.created_at, a.id",
        own_user,
    )
    return rows_as(AttachmentRow, rows)


async def delete_orphans(conn: asyncpg.Connection) -> list[UUID]:
    """Delete the attachments whose record is gone; their ids (whose files go next)."""
    checks = " or ".join(
        f"(a.subject_type = '{kind}' and not exists"
        f" (select 1 from {table} r where r.id = a.subject_id))"
        for kind, table in RECORD_TABLES.items()
    )
    rows = await conn.fetch(f"delete from attachments a where {checks} returning a.id")
    return [r["id"] for r in rows]


class Placed(msgspec.Struct, frozen=True):
    """An attachment's id, parts and where its bytes are (the storage move's worklist)."""

    id: UUID
    has_thumbnail: bool
    stored_in: str | None


async def not_in(conn: asyncpg.Connection, location: str) -> list[Placed]:
    """The workspace's attachments whose bytes are not (known to be) in `location`."""
    rows = await conn.fetch(
        "select id, has_thumbnail, stored_in from attachments"
        " where stored_in is distinct from $1 order by id",
        location,
    )
    return rows_as(Placed, rows)


async def count_in(conn: asyncpg.Connection, location: str) -> int:
    """How many of the workspace's attachments are in `location`."""
    return int(
        await conn.fetchval("select count(*) from attachments where stored_in = $1", location)
    )


async def placed_in(conn: asyncpg.Connection, location: str) -> set[UUID]:
    """The ids of the workspace's attachments in `location`."""
    rows = await conn.fetch("select id from attachments where stored_in = $1", location)
    return {row["id"] for row in rows}


async def move_row(
    conn: asyncpg.Connection, attachment_id: UUID, before: str | None, after: str
) -> bool:
    """Say the attachment's bytes are in `after` now, if the row still says `before` (False:
    deleted, or moved by someone else, meanwhile)."""
    status = await conn.execute(
        "update attachments set stored_in = $3 where id = $1 and stored_in is not distinct from $2",
        attachment_id,
        before,
        after,
    )
    return status.endswith(" 1")
