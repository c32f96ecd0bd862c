"""The steps contacts and companies share when they are changed: the locked row an edit or
delete is decided on, the version check (deals and invoices use it too), the versioned update,
the timeline entry, and the delete with the record's notes and tasks. Call inside the caller's
tenant transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from piccolo.columns import Column
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.crm.activity import edit_conflict, log_activity, record_activity, stale_page
from app.crm.common import readable
from app.crm.tables import Company, Contact, Note, Task

Record = type[Company] | type[Contact]
ReadRecord = Callable[[asyncpg.Connection, UUID], Awaitable[dict[str, object] | None]]
# a record's fields as people read them (names instead of ids), for an edit conflict
AsRead = Callable[[dict[str, object]], Awaitable[dict[str, object] | None]]


async def read_record(
    current: Current, kind: str, read: ReadRecord, record_id: UUID
) -> dict[str, Any]:
    """The record as `read` gives it, in its own tenant transaction (RecordNotFound: not
    there, or another tenant's)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await read(c, record_id)
    if row is None:
        raise RecordNotFound(kind)
    return row


async def locked_row(table: Record, kind: str, record_id: UUID) -> dict[str, object]:
    """The record, locked until the transaction ends (an edit or delete is decided on it)."""
    row = await table.select().where(table.id == record_id).lock_rows().first()
    if row is None:
        raise RecordNotFound(kind)
    return row


def version_of(row: Mapping[str, object]) -> int:
    """The record's version (a row always has one)."""
    version = row["version"]
    return version if isinstance(version, int) else 0


async def refuse_old_edit(
    kind: str,
    record_id: UUID,
    before: dict[str, object],
    data: dict[str, object],
    fields: tuple[str, ...],
    version: int,
    as_read: AsRead = readable,
) -> None:
    """EditConflict when the record moved on since `version`, the one the form was made from:
    the stored fields beside the input, both as `as_read` names them for people (deals and
    invoices name theirs)."""
    if version_of(before) != version:
        raise await edit_conflict(
            kind,
            record_id,
            kind,
            await as_read(before),
            await as_read(data),
            fields,
            version_of(before),
        )


async def save_edit(
    table: Record,
    kind: str,
    record_id: UUID,
    version: int,
    columns: Sequence[str],
    values: Sequence[object],
) -> None:
    """Write `columns` = `values` and the next version, if the row is still at `version`."""
    changes: dict[Column | str, object] = dict(zip(columns, values, strict=True))
    changes[table.version] = table.version + 1
    changes[table.updated_at] = QueryString("now()")
    saved = await (
        table.update(changes)
        .where((table.id == record_id) & (table.version == version))
        .returning(table.id)
    )
    if len(saved) != 1:  # the row lock makes this unreachable; never say "saved"
        raise RecordNotFound(kind)


async def log_changes(
    current: Current, kind: str, record_id: UUID, changes: Mapping[str, Mapping[str, object]]
) -> None:
    """The timeline entry of an edit, naming the fields it changed (none: no entry)."""
    if changes:
        names = ", ".join(k.removesuffix("_id").replace("_", " ") for k in changes)
        await log_activity(current, kind, record_id, "updated", f"changed {names}", changes)


async def refuse_stale_delete(
    kind: str, record_id: UUID, before: dict[str, Any], version: int
) -> None:
    """EditConflict when the record moved on since the confirmation page showed `version`."""
    if before["version"] != version:
        raise await stale_page(kind, record_id, kind, before["version"])


async def delete_with_notes(
    current: Current, table: Record, kind: str, record_id: UUID, name: str
) -> None:
    """Delete the record with its notes and tasks; the timeline keeps a record of it."""
    await Note.delete().where((Note.subject_type == kind) & (Note.subject_id == record_id))
    await Task.delete().where((Task.subject_type == kind) & (Task.subject_id == record_id))
    await table.delete().where(table.id == record_id)
    await record_activity(
        current.tenant_id, current.user_id, kind, record_id, "deleted", f"deleted the {kind} {name}"
    )
