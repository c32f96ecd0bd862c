"""/api/v1/custom-fields: the workspace's custom fields (those of the objects the token may
read), and what contacts, companies and deals share to carry them: the `custom` object (field
key -> value) read by one SQL expression and written through the pages' forms."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec
from litestar import get

from app.accounts.schemas import Current
from app.api.auth import HOLDER_KEY
from app.api.tokens import TokenHolder, allows
from app.core.db import tenant_transaction
from app.core.http_types import Req
from app.crm.custom_fields import INPUT_PREFIX, OBJECT_KINDS, kind_fields

# the token scope that reads each kind's records
SCOPES = {"contact": "contacts", "company": "companies", "deal": "deals"}

# A value in a record's `custom` object: text (also numbers and dates, exact: "1234.50",
# "2027-01-31"; a member's user id), a boolean (checkbox), a list (multi select) or
# {"amount": "12.50", "currency": "EUR"} (money).
CustomValue = str | bool | list[str] | dict[str, str]
# What a write may send for one: the same, numbers as JSON numbers too, null to empty it.
CustomIn = str | int | float | bool | list[str] | dict[str, str | int | float] | None


def custom_sql(kind: str) -> str:
    """The select-list expression of a record's `custom` object (alias r; its kind's active
    fields by key; jsonb as text). `kind` is one of our fixed names, never input."""
    assert kind in OBJECT_KINDS
    return (
        "(select coalesce(jsonb_object_agg(f.key, r.custom_values -> f.id::text), '{}')"
        " from custom_fields f where f.tenant_id = r.tenant_id"
        f" and f.object_kind = '{kind}' and f.archived_at is null"
        " and r.custom_values ? f.id::text)::text as custom"
    )


def custom_out(row: Mapping[str, object]) -> dict[str, object]:
    """`row` with its `custom` text decoded (the output Struct's `custom` object)."""
    raw = row.get("custom")
    decoded = msgspec.json.decode(raw) if isinstance(raw, str | bytes) else (raw or {})
    return {**row, "custom": decoded}


def custom_in(current: Current, values: Mapping[str, object]) -> dict[str, object]:
    """A body's `custom` object as the forms' inputs (`custom.<key>`, money's currency as
    `custom.<key>.currency`): the pages' rules then check it (app/crm/custom_values.py)."""
    out = dict(values)
    custom = out.pop("custom", None)
    if isinstance(custom, dict):
        for key, value in custom.items():
            name = INPUT_PREFIX + str(key)
            if isinstance(value, dict):
                out[name] = value.get("amount")
                out[name + ".currency"] = value.get("currency")
            else:
                out[name] = value
    return out


class CustomFieldOut(msgspec.Struct, frozen=True):
    id: UUID
    object: str  # contact | company | deal
    key: str  # the name in records' `custom` object
    label: str
    type: str  # text number money date select multi_select checkbox url user
    options: list[str]
    required: bool
    position: int


class CustomFieldList(msgspec.Struct, frozen=True):
    data: list[CustomFieldOut]


@get("/custom-fields")
async def list_custom_fields(request: Req, current: Current) -> CustomFieldList:
    """The workspace's active custom fields of the objects this token may read, in order."""
    holder = request.scope.get(HOLDER_KEY)
    found: list[CustomFieldOut] = []
    async with tenant_transaction(current.tenant_id, current.user_id):
        for kind, scope in SCOPES.items():
            if isinstance(holder, TokenHolder) and not allows(holder.scopes, scope, "read"):
                continue
            for f in await kind_fields(kind):
                found.append(
                    CustomFieldOut(
                        f.id,
                        kind,
                        f.key,
                        f.label,
                        f.field_type,
                        f.options,
                        f.required,
                        f.position,
                    )
                )
    return CustomFieldList(found)


ROUTES = [list_custom_fields]
