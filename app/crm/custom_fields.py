"""Custom fields: a workspace's own fields on contacts, companies and deals. Their types, the
definitions as the services read them, and how a stored value reads (pages, lists, exports,
timeline). The values' decoding and validation is app/crm/custom_values.py.

A record keeps its values in `custom_values` (jsonb), keyed by the field's id, so renaming a
field keeps them and archiving one only hides them. Stored forms: text, number (a decimal as
text), date (ISO), select, url and user (a member's id) are strings; money is
{"amount": "12.50", "currency": "EUR"}; multi select a list of strings; checkbox a boolean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeAlias
from uuid import UUID

import msgspec

from app.core.db import connection
from app.core.rows import rows_as

# type -> its words (the admin page's choices, in this order)
FIELD_TYPES: dict[str, str] = {
    "text": "Text",
    "number": "Number",
    "money": "Money (amount and currency)",
    "date": "Date",
    "select": "Single select",
    "multi_select": "Multi select",
    "checkbox": "Checkbox",
    "url": "Web address (URL)",
    "user": "Member of the workspace",
}
SELECTS = ("select", "multi_select")
OBJECT_KINDS: dict[str, str] = {"contact": "Contacts", "company": "Companies", "deal": "Deals"}
INPUT_PREFIX = "custom."  # a form's input of a field: custom.<key> (money: + .currency)

Stored: TypeAlias = str | bool | list[str] | dict[str, str]
Values: TypeAlias = dict[str, Stored]


class FieldDef(msgspec.Struct, frozen=True):
    """A custom field as defined by the workspace's admins."""

    id: UUID
    object_kind: str
    key: str
    label: str
    field_type: str
    options: list[str]
    required: bool
    personal: bool
    position: int
    archived_at: datetime | None
    version: int

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def input_name(self) -> str:
        return INPUT_PREFIX + self.key

    @property
    def type_label(self) -> str:
        return FIELD_TYPES.get(self.field_type, self.field_type)


async def kind_fields(kind: str, *, archived: bool = False) -> list[FieldDef]:
    """The fields of records of `kind` (contact, company, deal) in order, without the
    archived ones unless asked; inside the caller's tenant transaction (RLS)."""
    sql = _ALL_FIELDS if archived else _SHOWN_FIELDS
    return rows_as(FieldDef, await connection().fetch(sql, kind))


# the fields of a kind: every list, record and form page asks (a plain statement, prepared once
# per connection, options as text[])
_FIELDS_OF_KIND = (
    "select id, object_kind, key, label, field_type, required, personal, position, archived_at,"
    " version, array(select jsonb_array_elements_text(coalesce(options, '[]'))) as options"
    " from custom_fields where object_kind = $1 {} order by position, label"
)
_SHOWN_FIELDS = _FIELDS_OF_KIND.format("and archived_at is null")
_ALL_FIELDS = _FIELDS_OF_KIND.format("")


def stored_values(raw: object) -> Values:
    """A record's `custom_values` as read (jsonb arrives as text; Piccolo may decode it)."""
    if raw is None or raw == "":
        return {}
    decoded = msgspec.json.decode(raw) if isinstance(raw, str | bytes) else raw
    return msgspec.convert(decoded, Values)


class Member(msgspec.Struct, frozen=True):
    """A member of the current workspace, as a user field names them."""

    user_id: UUID
    name: str
    email: str


async def workspace_people(tenant_id: UUID) -> list[Member]:
    """The current workspace's members (tenant named explicitly: memberships are also
    visible to their own user)."""
    rows = await connection().fetch(
        "select u.id as user_id, u.name, u.email from memberships m"
        " join users u on u.id = m.user_id where m.tenant_id = $1 order by lower(u.name)",
        tenant_id,
    )
    return [Member(r["user_id"], r["name"], r["email"]) for r in rows]


def as_text(field: FieldDef, value: Stored | None, names: Mapping[str, str] | None = None) -> str:
    """How a stored value reads in a page, list cell, export or timeline ("" when empty):
    money "12.50 EUR", a multi select "a; b", a checkbox "Yes"/"No", a member by `names`
    (id -> name or email; the id itself when not given)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, dict):
        return f"{value.get('amount', '')} {value.get('currency', '')}".strip()
    if field.field_type == "user" and names is not None:
        return names.get(value, value)
    return value


def shown_fields(
    fields: Iterable[FieldDef], values: Values, names: Mapping[str, str] | None = None
) -> list[tuple[FieldDef, str]]:
    """(field, its text) for a record page: every active field, empty ones as ""."""
    return [(f, as_text(f, values.get(str(f.id)), names)) for f in fields if not f.archived]


def form_texts(fields: Iterable[FieldDef], values: Values) -> dict[str, object]:
    """A record's values as its edit form shows them (input name -> text or list)."""
    shown: dict[str, object] = {}
    for field in fields:
        value = values.get(str(field.id))
        name = field.input_name
        if isinstance(value, dict):
            shown[name] = value.get("amount", "")
            shown[name + ".currency"] = value.get("currency", "")
        elif isinstance(value, bool):
            shown[name] = "true" if value else ""
        elif value is not None:
            shown[name] = value
    return shown


def by_key(fields: Iterable[FieldDef], values: Values) -> dict[str, Stored]:
    """The active fields' values keyed by field key (the API's `custom` object)."""
    return {f.key: values[str(f.id)] for f in fields if not f.archived and str(f.id) in values}


async def people_here() -> list[Member]:
    """The members of the workspace of the open tenant transaction."""
    rows = await connection().fetch(
        "select u.id as user_id, u.name, u.email from memberships m join users u"
        " on u.id = m.user_id where m.tenant_id ="
        " (select nullif(current_setting('app.tenant_id', true), ''))::uuid"
    )
    return [Member(r["user_id"], r["name"], r["email"]) for r in rows]


def column_names(fields: Iterable[FieldDef], taken: Iterable[str]) -> list[str]:
    """The export's column name of each field: its label (a label another column has gets
    its key added, so every column is named once)."""
    used = {t.lower() for t in taken}
    names = []
    for field in fields:
        name = field.label
        if name.lower() in used:
            name = f"{field.label} ({field.key})"
        used.add(name.lower())
        names.append(name)
    return names
