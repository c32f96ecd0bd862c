"""Sorting a list (contacts, companies, deals) by a custom field's column: `sort=cf.<key>`,
allowed only for a column the view shows (`cols`) of an active field of the list's kind in
this workspace (else a 422 that says so). The order is typed by the field's type (number and
money's amount numerically, a date as a date, a checkbox as a boolean, the rest case-blind
text, a multi select by its first value), empty values last in both directions, the id
breaking ties: the keyset cursor carries (empty?, value, id). Call inside the caller's tenant
transaction (the field is read under RLS)."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from app.core.errors import FormInvalid
from app.core.paging import SortSpec
from app.crm.custom_fields import FieldDef, kind_fields
from app.crm.custom_filters import DATE_SQL, NUMBER_SQL
from app.crm.filters import Column, ListView, sort_spec

PREFIX = "cf."
# type -> (the value's SQL from its stored json `raw` and text `text`, the cursor kind, the
# stand-in for an empty one: never compared to a filled one, the empty flag orders first)
NUMERIC = ("(case when {text} ~ '" + NUMBER_SQL + "' then ({text})::numeric end)", "decimal", "0")
TEXT = ("nullif(lower({text}), '')", "text", "''")
TYPED: dict[str, tuple[str, str, str]] = {
    "number": NUMERIC,
    "money": NUMERIC,
    "date": (
        "(case when {text} ~ '" + DATE_SQL + "' then ({text})::date end)",
        "date",
        "'2000-01-01'::date",
    ),
    "checkbox": (
        "(case when jsonb_typeof({raw}) = 'boolean' then ({raw})::boolean end)",
        "bool",
        "false",
    ),
    "multi_select": (
        "(case when jsonb_typeof({raw}) = 'array' then nullif(lower({raw} ->> 0), '') end)",
        "text",
        "''",
    ),
}


def custom_spec(field: FieldDef, descending: bool, alias: str, key: str) -> SortSpec:
    """The keyset order by `field` of the records `alias` (`key`: their id), empties last."""
    field_id = UUID(str(field.id))  # a uuid: no quote can be in it
    raw = f"{alias}.custom_values -> '{field_id}'"
    text = f"({alias}.custom_values ->> '{field_id}')"
    text = f"(({raw}) ->> 'amount')" if field.field_type == "money" else text
    template, kind, stand_in = TYPED.get(field.field_type, TEXT)
    value = template.replace("{raw}", f"({raw})").replace("{text}", text)  # braces in them
    last, first = (0, 1) if descending else (1, 0)  # the empty flag: empties last either way
    empty = f"(case when {value} is null then {last} else {first} end)"
    exprs = (empty, f"coalesce({value}, {stand_in})", key)
    return SortSpec(field.label, exprs, ("int", kind, "uuid"), descending)


async def list_spec(
    columns: Mapping[str, Column], default: str, view: ListView, alias: str, key: str
) -> SortSpec:
    """The order of `view`: a built-in column's (`sort_spec`), else its custom field's."""
    name = getattr(view, "sort", "")
    if not name.startswith(PREFIX):
        return sort_spec(columns, default, view, key)
    field_key = name.removeprefix(PREFIX)
    if field_key not in view.cols:
        raise FormInvalid(
            {"form": f"Show the column “{field_key}” to sort by it, or choose another order."}
        )
    fields = await kind_fields(view.custom_kind)
    field = next((f for f in fields if f.key == field_key), None)
    if field is None:
        here = f"There is no custom field “{field_key}” here to sort by."
        raise FormInvalid({"form": f"{here} Choose another order."})
    return custom_spec(field, view.dir == "desc", alias, key)
