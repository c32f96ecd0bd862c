"""Merging two records of a kind (contacts, companies): the survivor keeps, field by field,
the value chosen (list fields are unioned), and takes over everything of the other (notes,
activities, attachments, timeline, and what the kind's declaration moves: deal links, a
company's contacts, deals and invoices); the other is deleted. One transaction, on both
records' versions as the merge page showed them (moved on since: EditConflict, 409). Only an
admin, or the owner of both records, may merge them.

A kind is declared once in app/crm/merge_kinds.py (a `MergeKind`); this module is the one
merge. Records of later domains (deals, invoices, attachments) are moved by SQL here, not
through those domains' code, as crm comes first in the layers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, FormInvalid, RecordNotFound
from app.core.forms import Choice, Form, Ref, Version
from app.crm import records
from app.crm.activity import log_activity, stale_page
from app.crm.common import readable

KEEP = ("this", "other")
UNKNOWN_OTHER = "Choose the record to merge into this one."
MERGED_AWAY = "merged into another {kind}"
# every table whose rows hang on a record by (subject_type, subject_id)
SUBJECT_TABLES = ("notes", "tasks", "attachments")
Shown = dict[str, object]  # a record as the merge page shows it (decrypted)


class MergeQuery(Form):
    """`/{plural}/{id}/merge?other=…`: the record to merge into this one (none: pick one)."""

    other: Annotated[UUID | None, Ref(UNKNOWN_OTHER)] = None


def keep(label: str) -> Choice:
    """A merge form's field: whose value stays ("this" or "other")."""
    return Choice(label, KEEP)


class MergeForm(Form, kw_only=True):
    """The merge page's choices: the other record and both versions shown, whose owner stays
    (every record has one); a kind's subclass adds a field per other chosen value ("this": the
    survivor's, "other": the merged record's)."""

    other_id: Annotated[UUID | None, Ref(UNKNOWN_OTHER, required=True)] = None
    version: Annotated[int, Version()]
    other_version: Annotated[int, Version()]
    owner_id: Annotated[str, keep("whose owner stays")] = "this"


F = TypeVar("F", bound=MergeForm)


@dataclass(frozen=True)
class MergeKind(Generic[F]):
    """What differs between kinds' merges; everything else is `merge_records`."""

    kind: str  # "company": subject_type, URLs and messages follow from it
    plural: str  # "companies"
    table: records.Record
    form: type[F]
    chosen: Mapping[str, str]  # field: label, one value kept (a field of `form`)
    unioned: Mapping[str, str]  # field: label, both lists kept
    open: Callable[[Mapping[str, object]], Shown]  # the stored row as shown
    # the survivor's stored columns and values, given its merged fields
    stored: Callable[[Current, UUID, Shown], tuple[Sequence[str], Sequence[object]]]
    name_of: Callable[[Shown], str]
    moves: Sequence[str] = ()  # SQL moving the other's related rows: $1 survivor, $2 other

    @property
    def same(self) -> str:
        return f"Choose another {self.kind} to merge: a {self.kind} can't be merged into itself."

    @property
    def retry(self) -> str:
        return f"merge them again if they are still the same {self.kind}"


def union(first: list[str], second: list[str]) -> list[str]:
    """Both lists' values, the first's order first, each once (case-insensitively)."""
    seen: set[str] = set()
    out: list[str] = []
    for value in [*first, *second]:
        if value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def strings(value: object) -> list[str]:
    """A list field's values (none: empty)."""
    return [str(v) for v in value] if isinstance(value, list) else []


def merged_values(spec: MergeKind[F], this: Shown, other: Shown, form: F) -> Shown:
    """The survivor's fields after the merge."""
    data = {f: (other if getattr(form, f) == "other" else this)[f] for f in spec.chosen}
    for f in spec.unioned:
        data[f] = union(strings(this[f]), strings(other[f]))
    return data


def check_may_merge(current: Current, kind: str, *rows: Mapping[str, object]) -> None:
    """Admins merge any two records; a member only two records they own."""
    if current.is_admin or all(row["owner_id"] == current.user_id for row in rows):
        return
    raise Forbidden(
        f"Only an admin, or the owner of both, can merge these {kind} records."
        " Ask an admin, or the owner, to merge them."
    )


async def merge_pair(
    current: Current, spec: MergeKind[F], survivor_id: UUID, other_id: UUID | None
) -> dict[str, Shown] | None:
    """Both records as the merge page shows them (None: no other chosen); RecordNotFound
    when either isn't there (or is another workspace's)."""
    wanted = [survivor_id] if other_id is None else [survivor_id, other_id]
    table = spec.table
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = await table.select().where(table.id.is_in(wanted))
        found = {row["id"]: spec.open(row) for row in rows}
        this = found.get(survivor_id)
        if this is None:
            raise RecordNotFound(spec.kind)
        if other_id is None:
            return None
        if other_id == survivor_id:
            raise FormInvalid({"other_id": spec.same})
        other = found.get(other_id)
        if other is None:
            raise RecordNotFound(spec.kind)
        check_may_merge(current, spec.kind, this, other)
        shown = {"this": await readable(this), "other": await readable(other)}
    return {side: record for side, record in shown.items() if record is not None}


async def _move(conn: asyncpg.Connection, spec: MergeKind[F], keep: UUID, gone: UUID) -> None:
    """Everything of `gone` becomes `keep`'s (the search_grams triggers follow the rows)."""
    for table in SUBJECT_TABLES:
        await conn.execute(
            f"update {table} set subject_id = $1"  # a fixed table name
            " where subject_type = $3 and subject_id = $2",
            keep,
            gone,
            spec.kind,
        )
    for sql in spec.moves:
        await conn.execute(sql, keep, gone)
    # custom values: the survivor's, then the other's for fields the survivor left empty
    table = spec.table._meta.tablename
    await conn.execute(
        f"update {table} set custom_values = (select o.custom_values from {table} o"  # fixed name
        " where o.id = $2) || custom_values where id = $1",
        keep,
        gone,
    )
    # the timeline is append-only: its entries are copied to the survivor (erasing it blanks
    # them there) and the originals keep only that they were merged away
    await conn.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary, changes, created_at)"
        " select gen_random_uuid(), tenant_id, subject_type, $1, actor_id, action, summary,"
        " changes, created_at from activities where subject_type = $3 and subject_id = $2",
        keep,
        gone,
        spec.kind,
    )
    await conn.execute(
        "update activities set summary = $2, changes = '{}'"
        " where subject_type = $3 and subject_id = $1",
        gone,
        MERGED_AWAY.format(kind=spec.kind),
        spec.kind,
    )


async def merge_records(current: Current, spec: MergeKind[F], survivor_id: UUID, form: F) -> str:
    """Merge `form.other_id` into the survivor; returns the merged record's name."""
    other_id = form.other_id
    if other_id is None or other_id == survivor_id:
        raise FormInvalid({"other_id": spec.same if other_id else UNKNOWN_OTHER})
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        # locked in id order: two merges of the same pair can't deadlock
        locked = {
            record_id: await records.locked_row(spec.table, spec.kind, record_id)
            for record_id in sorted([survivor_id, other_id])
        }
        this, other = spec.open(locked[survivor_id]), spec.open(locked[other_id])
        check_may_merge(current, spec.kind, this, other)
        for record, shown in ((this, form.version), (other, form.other_version)):
            if record["version"] != shown:
                version = records.version_of(this)
                raise await stale_page(spec.kind, survivor_id, spec.kind, version, spec.retry)
        data = merged_values(spec, this, other, form)
        await _move(conn, spec, survivor_id, other_id)
        await spec.table.delete().where(spec.table.id == other_id)
        columns, values = spec.stored(current, survivor_id, data)
        await records.save_edit(spec.table, spec.kind, survivor_id, form.version, columns, values)
        name = spec.name_of(other) or f"a {spec.kind}"
        changes = {"merged_id": {"from": None, "to": str(other_id)}}
        summary = f"merged {name} into this {spec.kind}"
        await log_activity(current, spec.kind, survivor_id, "merged", summary, changes)
    return name
