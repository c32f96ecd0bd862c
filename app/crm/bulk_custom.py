"""The bulk action "set a custom field" on the contact, company and deal lists: one of the
workspace's active fields of that kind, set to one value (decoded and checked by the one
validator, app/crm/custom_values.py) or cleared (refused for a required field).

Each record is saved as its edit saves it (row lock, versioned save, timeline entry naming the
field's label); its previous value is kept with the field's id, so the undo puts it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import Invalid
from app.crm import bulk_queries, records
from app.crm.bulk_types import BulkParams, Outcome, Previous
from app.crm.custom_fields import (
    FieldDef,
    Member,
    Stored,
    Values,
    as_text,
    kind_fields,
    people_here,
    stored_values,
)
from app.crm.custom_values import custom_diff, decode, encoded

GONE_FIELD = "That custom field isn't there any more (or is another workspace's): reload the list."
REQUIRED = "{label} is required: it can't be cleared. Choose a value to set instead."
EMPTY = "Enter the value to set {label} to, or tick “Clear it”."


class CustomPrevious(msgspec.Struct, frozen=True):
    """A record's value of the field before the change (None: it had none)."""

    field: UUID
    value: Stored | None


async def _field(kind: str, field_id: UUID | None) -> FieldDef:
    """The active field of `kind` named (RLS hides another workspace's)."""
    for field in await kind_fields(kind):
        if field.id == field_id:
            return field
    raise FormInvalid({"field_id": GONE_FIELD})


def _names(people: Sequence[Member]) -> dict[str, str]:
    return {str(p.user_id): p.name or p.email for p in people}


async def describe_custom(kind: str, params: BulkParams) -> BulkParams:
    """Check the field (this workspace's, of `kind`) and the value; name both for the
    question. FormInvalid says what to fix."""
    field = await _field(kind, params.field_id)
    people = await people_here() if field.field_type == "user" else []
    value: Stored | None = None
    if params.clear:
        if field.required:
            raise FormInvalid({"custom_value": REQUIRED.format(label=field.label)})
    else:
        try:
            value = decode(field, [params.custom_raw], [], people)
        except Invalid as exc:
            raise FormInvalid({"custom_value": exc.message}) from exc
        if value is None or (field.field_type == "checkbox" and not params.custom_raw.strip()):
            raise FormInvalid({"custom_value": EMPTY.format(label=field.label)})
    text = as_text(field, value, _names(people)) if value is not None else ""
    return msgspec.structs.replace(
        params, field_label=field.label, custom_value=value, custom_text=text
    )


async def apply_custom(
    current: Current, conn: asyncpg.Connection, singular: str, params: BulkParams, ids: list[UUID]
) -> Outcome:
    """Set (or clear) the field on each record of `ids` not already as asked."""
    field = await _field(singular, params.field_id)
    if params.clear and field.required:
        raise FormInvalid({"custom_value": REQUIRED.format(label=field.label)})
    names = _names(await people_here()) if field.field_type == "user" else {}
    key = str(field.id)
    outcome = Outcome()
    for record_id, version, raw in await bulk_queries.lock_custom_values(conn, singular, ids):
        values = stored_values(raw)
        after = dict(values)
        if params.clear or params.custom_value is None:
            after.pop(key, None)
        else:
            after[key] = params.custom_value
        if after == values:
            continue  # already as asked: no version bump, no timeline entry
        if not await bulk_queries.save_custom_values(
            conn, singular, record_id, version, encoded(after)
        ):
            continue
        await _log(current, singular, record_id, field, values, after, names)
        prev = msgspec.json.encode(CustomPrevious(field.id, values.get(key))).decode()
        outcome.changed.append(Previous(record_id, version + 1, prev))
    return outcome


async def restore_custom(
    current: Current, conn: asyncpg.Connection, singular: str, previous: list[Previous]
) -> list[UUID]:
    """Put each record's previous value back, on the records still at the version the change
    left them at (values of a field archived since are left as they are)."""
    wanted = {p.id: p for p in previous}
    fields = {f.id: f for f in await kind_fields(singular)}
    has_user = any(f.field_type == "user" for f in fields.values())
    names = _names(await people_here()) if has_user else {}
    restored: list[UUID] = []
    for record_id, version, raw in await bulk_queries.lock_custom_values(
        conn, singular, list(wanted)
    ):
        prev = wanted[record_id]
        if version != prev.version or not isinstance(prev.value, str):
            continue  # edited since: theirs stands
        was = msgspec.json.decode(prev.value, type=CustomPrevious)
        field = fields.get(was.field)
        if field is None:
            continue
        values = stored_values(raw)
        after = dict(values)
        if was.value is None:
            after.pop(str(field.id), None)
        else:
            after[str(field.id)] = was.value
        if await bulk_queries.save_custom_values(
            conn, singular, record_id, version, encoded(after)
        ):
            await _log(current, singular, record_id, field, values, after, names)
            restored.append(record_id)
    return restored


async def _log(
    current: Current,
    singular: str,
    record_id: UUID,
    field: FieldDef,
    before: Values,
    after: Values,
    names: dict[str, str],
) -> None:
    """The record's timeline entry, naming the field by its label."""
    changes = custom_diff([field], before, after, names)
    await records.log_changes(current, singular, record_id, changes)
