"""The one place custom field values are decoded and validated: record forms, the REST API and
the CSV import all send text (`custom.<key>`, money's currency as `custom.<key>.currency`) and
get the same rules and messages. Call inside the caller's tenant transaction.

Rules: text up to 2,000 characters (no control characters); number and money exact decimals;
money in an ISO 4217 currency; date ISO (YYYY-MM-DD); a select's value one of its choices;
URL http(s) only; user a member of this workspace (by id or email); required fields filled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import connection, tenant_transaction
from app.core.errors import FormInvalid
from app.core.forms import Invalid, clean_text, parse_decimal, places
from app.core.forms.text import capitalised, split_items, storable
from app.core.money import currencies
from app.crm.activity import Diff
from app.crm.custom_fields import (
    FieldDef,
    Member,
    Stored,
    Values,
    as_text,
    form_texts,
    kind_fields,
    shown_fields,
    stored_values,
    workspace_people,
)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
TEXT_MAX = 2000
URL_MAX = 2000
NUMBER_PLACES = 6
TRUE = ("true", "on", "1", "yes", "y", "x")
FALSE = ("false", "off", "0", "no", "n")


def _one(field: FieldDef, raw: Sequence[str]) -> str:
    """The single value sent for `field` (storable, trimmed); "" when left empty."""
    filled = [storable(v, field.label).strip() for v in raw]
    filled = [v for v in filled if v]
    if len(set(filled)) > 1:
        raise Invalid(f"{capitalised(field.label)} was sent more than once. Send it once.")
    return filled[0] if filled else ""


def _number(field: FieldDef, text: str, decimals: int) -> str:
    value = parse_decimal(text)
    if value is None:
        raise Invalid(f"Enter {field.label} as a number, like 1234.50.")
    if places(value) > decimals:
        raise Invalid(f"{capitalised(field.label)} can have at most {decimals} decimals.")
    return (format(value.normalize(), "f") if places(value) == 0 else str(value)).removeprefix("+")


def _url(field: FieldDef, text: str) -> str:
    if len(text) > URL_MAX or any(c.isspace() for c in text):
        raise Invalid(f"Enter {field.label} as a web address like https://example.com.")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid(
            f"{capitalised(field.label)} must be a web address starting with http:// or https://."
        )
    return text


def _user(field: FieldDef, text: str, people: Sequence[Member]) -> str:
    for person in people:
        if text == str(person.user_id) or text.lower() == person.email.lower():
            return str(person.user_id)
    raise Invalid(f"Choose {field.label} from your workspace's members.")


def _choices(field: FieldDef, items: list[str]) -> list[str]:
    known = {o.lower(): o for o in field.options}
    for item in items:
        if item.lower() not in known:
            shown = item if len(item) <= 60 else item[:60] + "…"
            raise Invalid(
                f"“{shown}” is not a choice of {field.label}. Choose from:"
                f" {', '.join(field.options)}."
            )
    chosen = {known[i.lower()] for i in items}
    return [o for o in field.options if o in chosen]


def decode(
    field: FieldDef, raw: Sequence[str], currency: Sequence[str], people: Sequence[Member]
) -> Stored | None:
    """`field`'s value from the text sent (None: left empty); Invalid says what to fix."""
    kind = field.field_type
    if kind == "checkbox":
        words = [storable(v, field.label).strip().lower() for v in raw]
        words = [w for w in words if w]
        if not words:
            return False
        if words[-1] in TRUE:
            return True
        if words[-1] in FALSE:
            return False
        raise Invalid(f"Tick or untick {field.label} (yes or no).")
    if kind == "multi_select":
        items = split_items([storable(v, field.label) for v in raw])
        return _choices(field, items) or None
    text = _one(field, raw)
    if kind == "money" and not currency and " " in text:  # one cell: "12.50 EUR"
        text, _, code = text.rpartition(" ")
        currency = [code]
    if not text:
        return None
    if kind == "text":
        text = clean_text(text, field.label)
        if len(text) > TEXT_MAX:
            raise Invalid(
                f"{capitalised(field.label)} can be at most {TEXT_MAX} characters"
                f" (this one has {len(text)})."
            )
        return text
    if kind == "number":
        return _number(field, text, NUMBER_PLACES)
    if kind == "money":
        amount = _number(field, text, 2)
        code = _one(field, currency).upper()
        if code not in currencies():
            raise Invalid(f"Choose the currency of {field.label} (a code like EUR or USD).")
        return {"amount": f"{Decimal(amount):.2f}", "currency": code}
    if kind == "date":
        try:
            if not DATE_RE.match(text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise Invalid(f"Enter {field.label} as a date (YYYY-MM-DD).") from exc
    if kind == "select":
        return _choices(field, [text])[0]
    if kind == "url":
        return _url(field, text)
    if kind == "user":
        return _user(field, text, people)
    raise ValueError(f"unknown custom field type {kind!r}")  # our bug: the table checks it


def unknown_keys(fields: Sequence[FieldDef], sent: Mapping[str, object]) -> dict[str, str]:
    """The message (for the whole form) naming the sent keys that are no active field of this
    kind (another workspace's, an archived one, a typo)."""
    known = {f.key for f in fields}
    unknown = sorted({n.removesuffix(".currency") for n in sent} - known)
    if not unknown:
        return {}
    names = ", ".join(f"“{k[:40]}”" for k in unknown[:5])
    return {"form": f"There is no custom field {names} here. Reload the page, or ask an admin."}


@dataclass(frozen=True)
class Checked:
    """A record's custom values after an input, and what it changed (by label)."""

    values: Values
    changes: Diff


async def check_custom(
    tenant_id: UUID,
    kind: str,
    sent: Mapping[str, Sequence[str]],
    before: Values | None,
    *,
    fields: Sequence[FieldDef] | None = None,
    people: Sequence[Member] | None = None,
) -> Checked:
    """The record's values with `sent` (field key -> texts) applied: fields not sent keep
    their value, archived fields keep theirs (hidden), required fields must end up filled.
    FormInvalid with a message per input (`custom.<key>`) for everything wrong."""
    if fields is None:
        fields = await kind_fields(kind)
    errors = unknown_keys(fields, sent)
    if people is None:
        people = await workspace_people(tenant_id) if _has_user(fields) else []
    values: Values = dict(before or {})
    for field in fields:
        if field.key not in sent and field.key + ".currency" not in sent:
            continue
        raw, currency = sent.get(field.key, ()), sent.get(field.key + ".currency", ())
        if _unchanged(raw, currency, values.get(str(field.id))):
            continue  # kept as stored (even if a choice or member it names has gone since)
        try:
            value = decode(field, raw, currency, people)
        except Invalid as exc:
            errors[field.input_name] = exc.message
            continue
        if value is None:
            values.pop(str(field.id), None)
        else:
            values[str(field.id)] = value
    for field in fields:
        empty = values.get(str(field.id)) in (None, "", [], False)
        if field.required and empty and field.input_name not in errors:
            errors[field.input_name] = f"Enter {field.label}: it is required."
    if errors:
        raise FormInvalid(errors)
    names = {str(p.user_id): p.name or p.email for p in people}
    return Checked(values, custom_diff(fields, before or {}, values, names))


def _unchanged(raw: Sequence[str], currency: Sequence[str], stored: Stored | None) -> bool:
    """Whether the input is the stored value as an edit form or the API showed it."""
    sent = [v for v in raw if v]
    if stored is None or isinstance(stored, bool):
        return False
    if isinstance(stored, dict):
        return sent == [stored.get("amount")] and list(currency) == [stored.get("currency")]
    if isinstance(stored, list):
        return sent == stored
    return sent == [stored]


def custom_diff(
    fields: Sequence[FieldDef], before: Values, after: Values, names: Mapping[str, str]
) -> Diff:
    """{label: {"from", "to"}} for each active field whose value changed (the timeline)."""
    changes: Diff = {}
    for field in fields:
        old = as_text(field, before.get(str(field.id)), names) or None
        new = as_text(field, after.get(str(field.id)), names) or None
        if old != new:
            changes[field.label] = {"from": old, "to": new}
    return changes


def encoded(values: Values) -> str:
    """The values as the jsonb column takes them."""
    return msgspec.json.encode(values).decode()


async def with_custom(current: Current, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """`record` with its custom values read: `custom_values` decoded, `custom_shown` the
    active fields with their text (record page), `custom_form` as its edit form shows them."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        fields = await kind_fields(kind)
        people = await workspace_people(current.tenant_id) if _has_user(fields) else []
    values = stored_values(record.get("custom_values"))
    names = {str(p.user_id): p.name or p.email for p in people}
    return {
        **record,
        "custom_values": values,
        "custom_shown": shown_fields(fields, values, names),
        "custom_form": form_texts(fields, values),
    }


def _has_user(fields: Sequence[FieldDef]) -> bool:
    return any(f.field_type == "user" for f in fields)


async def custom_field_list(current: Current, kind: str) -> list[FieldDef]:
    """The active custom fields of `kind`, in order (a form's inputs)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        return await kind_fields(kind)


LIST_TABLES = {"contact": "contacts", "company": "companies", "deal": "deals"}  # never input


async def list_context(
    tenant_id: UUID,
    kind: str,
    cf: Mapping[str, object],
    cols: Sequence[str],
    rows: Sequence[Any],
    fields: Sequence[FieldDef] | None = None,
) -> dict[str, object]:
    """A list page's custom fields (inside its tenant transaction): all of them (the filters and
    the column chooser; `fields` when the page read them already, `list_frame`), the chosen
    columns, each row's cells by id; an unknown key in the view's filters or columns is a 422
    that names it."""
    fields = list(fields) if fields is not None else await kind_fields(kind)
    known = {f.key: f for f in fields}
    wanted = [*cols, *(str(name).partition(".")[0] for name in cf)]
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise FormInvalid(
            {"form": f"There is no custom field “{unknown[0]}” here. Remove it from the address."}
        )
    shown = [known[k] for k in cols]
    cells: dict[str, list[str]] = {}
    if shown and rows and kind in LIST_TABLES:
        ids = [row["id"] for row in rows]
        found = await connection().fetch(
            f"select id, custom_values::text as cv from {LIST_TABLES[kind]}"  # a fixed name
            " where id = any($1::uuid[])",
            ids,
        )
        people = await workspace_people(tenant_id) if _has_user(shown) else []
        names = {str(p.user_id): p.name or p.email for p in people}
        for record in found:
            values = stored_values(record["cv"])
            cells[str(record["id"])] = [as_text(f, values.get(str(f.id)), names) for f in shown]
    return {"custom_all": fields, "custom_cols": shown, "custom_cells": cells}


async def custom_form(
    current: Current, kind: str, raw: object
) -> tuple[list[FieldDef], dict[str, object]]:
    """A record's edit form's custom inputs (the active fields of `kind`) and its values
    `raw` (its custom_values as read) as the form shows them, for kinds whose forms read the
    record apart (deals)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        fields = await kind_fields(kind)
    return fields, form_texts(fields, stored_values(raw))


async def stored_record(current: Current, kind: str, record_id: UUID) -> dict[str, Any]:
    """A record's custom values as its page and edit form show them (`custom_shown`,
    `custom_form`), for kinds whose pages read them apart (deals)."""
    table = LIST_TABLES[kind]
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        raw = await conn.fetchval(
            f"select custom_values::text from {table} where id = $1",  # a fixed name
            record_id,
        )
    return await with_custom(current, kind, {"custom_values": raw})
