"""Custom field definitions, managed by a workspace's admins: add, edit the name, choices and
flags (versioned: a stale edit is refused with 409), reorder, archive (values hidden, kept),
restore, purge (the definition and its values deleted). The routes let admins in only."""

from __future__ import annotations

import re
import unicodedata
import uuid
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import connection, tenant_transaction
from app.core.errors import EditConflict, FormInvalid, RecordNotFound
from app.core.rows import insert_new
from app.crm.custom_fields import SELECTS, FieldDef, kind_fields
from app.crm.schemas import CustomFieldEdit, CustomFieldForm
from app.crm.tables import CustomField

MAX_FIELDS = 100  # per kind, archived ones included
# the tables holding each kind's values (fixed names: never from input)
VALUE_TABLES = {"contact": "contacts", "company": "companies", "deal": "deals"}
STALE = (
    "Someone changed this field while you were editing it. The page shows it as saved now;"
    " make your change again."
)


def key_from(label: str) -> str:
    """A key from a field's name ("Renewal date" -> renewal_date); "field" if none is left."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40].rstrip("_")
    if not key or not key[0].isalpha():
        key = ("field_" + key)[:40].rstrip("_")
    return key


async def list_fields(current: Current) -> dict[str, list[FieldDef]]:
    """Every field of the workspace, archived ones too, by kind."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        return {kind: await kind_fields(kind, archived=True) for kind in VALUE_TABLES}


async def add_field(current: Current, form: CustomFieldForm) -> FieldDef:
    """A new field at the end of its kind's list; its key from the name unless given."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        existing = await kind_fields(form.object_kind, archived=True)
        if len(existing) >= MAX_FIELDS:
            raise FormInvalid({"form": f"A record kind can have at most {MAX_FIELDS} fields."})
        taken = {f.key for f in existing}
        key = form.key or key_from(form.label)
        if form.key and key in taken:
            raise FormInvalid({"key": f"The key “{key}” is taken. Choose another."})
        base, n = key, 2
        while key in taken:
            key = f"{base[:36]}_{n}"
            n += 1
        field_id = uuid.uuid4()
        await insert_new(
            CustomField,
            id=field_id,
            tenant_id=current.tenant_id,
            object_kind=form.object_kind,
            key=key,
            label=form.label,
            field_type=form.field_type,
            options=form.options if form.field_type in SELECTS else [],
            required=form.required and form.field_type != "checkbox",
            personal=form.personal,
            position=max((f.position for f in existing), default=0) + 1,
        )
        return await _field(field_id)


async def _field(field_id: UUID, *, lock: bool = False) -> FieldDef:
    query = CustomField.select().where(CustomField.id == field_id)
    if lock:
        query = query.lock_rows()
    rows = await query.output(load_json=True)
    if not rows:
        raise RecordNotFound("custom field")
    return msgspec.convert(rows[0], FieldDef)


async def get_field(current: Current, field_id: UUID) -> FieldDef:
    async with tenant_transaction(current.tenant_id, current.user_id):
        return await _field(field_id)


async def _at_version(field_id: UUID, version: int) -> FieldDef:
    field = await _field(field_id, lock=True)
    if field.version != version:
        raise EditConflict(STALE, {}, field.version)
    return field


async def _save(field_id: UUID, **changes: object) -> None:
    await CustomField.update(
        {
            **{getattr(CustomField, k): v for k, v in changes.items()},
            CustomField.version: CustomField.version + 1,
        }
    ).where(CustomField.id == field_id)


async def edit_field(current: Current, field_id: UUID, form: CustomFieldEdit) -> None:
    """Rename, change the choices or flags (the values stay: they are keyed by the field)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        field = await _at_version(field_id, form.version)
        if field.field_type in SELECTS and not form.options:
            raise FormInvalid({"options": "List the choices, one a line."})
        await _save(
            field_id,
            label=form.label,
            options=form.options if field.field_type in SELECTS else [],
            required=form.required and field.field_type != "checkbox",
            personal=form.personal,
        )


async def set_archived(current: Current, field_id: UUID, version: int, archived: bool) -> str:
    """Archive (hide the field and its values, keep them) or restore it; returns its name."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        field = await _at_version(field_id, version)
        await conn.execute(
            "update custom_fields set archived_at = case when $2 then now() end,"
            " version = version + 1, updated_at = now() where id = $1",
            field_id,
            archived,
        )
        return field.label


async def move_field(current: Current, field_id: UUID, version: int, direction: str) -> None:
    """Swap the field with its neighbour above or below in its kind's list."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        field = await _at_version(field_id, version)
        order = await kind_fields(field.object_kind, archived=True)
        at = next(i for i, f in enumerate(order) if f.id == field_id)
        other = at - 1 if direction == "up" else at + 1
        if not 0 <= other < len(order):
            return
        order[at], order[other] = order[other], order[at]
        for position, item in enumerate(order, start=1):
            if item.position != position or item.id in (field_id, order[at].id):
                await _save(item.id, position=position)


async def purge_field(current: Current, field_id: UUID, version: int) -> str:
    """Delete an archived field and its values on every record (no undo); returns its name."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        field = await _at_version(field_id, version)
        if not field.archived:
            raise FormInvalid({"form": "Archive the field first; then it can be deleted."})
        table = VALUE_TABLES[field.object_kind]
        await connection().execute(
            f"update {table} set custom_values = custom_values - $1"  # a fixed name
            " where custom_values ? $1",
            str(field_id),
        )
        await CustomField.delete().where(CustomField.id == field_id)
        return field.label
