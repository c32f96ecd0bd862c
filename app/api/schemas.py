"""What the API reads and answers: msgspec Structs (they are also its OpenAPI schema).

Writes are read into these Structs by Litestar (wrong JSON types: 422), then handed to the very
form Structs the pages use (app.core.forms.parse), so the API and the UI share every rule.
Updates are partial: a field left out keeps its value.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from types import GenericAlias
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from app.api.custom_routes import CustomIn, CustomValue
from app.crm.published import CompanyRecord, ContactRecord
from app.deals.published import DealHead
from app.invoices.published import InvoiceTerms


def changes(
    name: str, out: type[msgspec.Struct], names: tuple[str, ...], *extra: tuple[str, Any]
) -> Any:
    """The body of a create or a partial update: the fields `names` of `out` (and `extra`
    ones; the `custom` object when `out` has one), each optional (left out: UNSET, kept as it
    is), and the `version` an update was made from (or send If-Match). Unknown fields are
    refused (422)."""
    types = {f.name: f.type for f in msgspec.structs.fields(out)}
    if "custom" in types:
        extra = (*extra, ("custom", dict[str, CustomIn]))
    fields = [(n, types[n] | UnsetType, UNSET) for n in names]
    fields += [(n, t | UnsetType, UNSET) for n, t in (*extra, ("version", int))]
    return msgspec.defstruct(
        name, fields, kw_only=True, forbid_unknown_fields=True, module=__name__
    )


@functools.cache
def page_of(out: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A page of a list of `out` records (ContactOut: ContactList): {data, next_cursor}."""
    fields = [("data", GenericAlias(list, (out,))), ("next_cursor", str | None)]
    name = out.__name__.removesuffix("Out") + "List"
    return msgspec.defstruct(name, fields, frozen=True, module=__name__)


# ---- contacts ----------------------------------------------------------------------------


class ContactOut(ContactRecord, frozen=True, kw_only=True):
    emails: list[str]  # the API always sends them
    phones: list[str]
    custom: dict[str, CustomValue]  # custom field key -> value (GET /custom-fields)


ContactIn = changes("ContactIn", ContactOut, ContactOut.__struct_fields__[1:9])


# ---- companies ---------------------------------------------------------------------------


class CompanyOut(CompanyRecord, frozen=True):
    custom: dict[str, CustomValue]  # custom field key -> value (GET /custom-fields)


CompanyIn = changes("CompanyIn", CompanyOut, CompanyOut.__struct_fields__[1:7])


# ---- deals, pipelines, stages ------------------------------------------------------------


class DealOut(DealHead, frozen=True, kw_only=True):
    position: float
    owner_id: UUID | None
    company_id: UUID | None
    expected_close_date: date | None
    lost_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    custom: dict[str, CustomValue]  # custom field key -> value (GET /custom-fields)


DealIn = changes(
    "DealIn",
    DealOut,
    ("title", "stage_id", "amount", "currency", "expected_close_date", "owner_id", "company_id"),
    ("contact_ids", list[UUID]),
    ("lost_reason", str),
)


class DealMove(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A board move: to `stage_id`, at `position` (0 = top) in that column."""

    stage_id: UUID
    position: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    lost_reason: str = ""
    version: int | UnsetType = UNSET


class StageOut(msgspec.Struct, frozen=True):
    id: UUID
    pipeline_id: UUID
    name: str
    position: int
    kind: str
    probability: int


class PipelineOut(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    is_default: bool
    stages: list[StageOut]


class PipelineList(msgspec.Struct, frozen=True):
    data: list[PipelineOut]


# ---- notes and tasks ---------------------------------------------------------------------


class NoteOut(msgspec.Struct, frozen=True):
    id: UUID
    subject_type: str
    subject_id: UUID
    author_id: UUID | None
    body: str
    created_at: datetime


class NoteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    subject_type: str  # contact | company | deal
    subject_id: UUID
    body: str


class TaskOut(msgspec.Struct, frozen=True):
    id: UUID
    subject_type: str
    subject_id: UUID
    kind: str
    title: str
    due_date: date | None
    due_at: datetime | None
    duration_minutes: int | None
    outcome: str | None
    participant_ids: list[UUID]
    notes: str
    assignee_id: UUID | None
    done: bool
    version: int
    created_at: datetime
    updated_at: datetime


# subject_type (contact | company | deal) and subject_id: on create only
TaskIn = changes("TaskIn", TaskOut, TaskOut.__struct_fields__[1:13])


# ---- invoices ----------------------------------------------------------------------------


class InvoiceLineOut(msgspec.Struct, frozen=True):
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal


# not frozen, as its terms' other shape is not: the invoice page's row is filled in after reading
class InvoiceOut(InvoiceTerms[str], kw_only=True):
    number: str  # said again: the OpenAPI document reads the annotation, not the type argument
    notes: str
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[InvoiceLineOut] = []


class InvoiceLineIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: str
    unit_price: Decimal
    quantity: Decimal = Decimal(1)
    tax_rate: Decimal = Decimal(0)


# an invoice has 1 to 100 lines (app/invoices/schemas.py MAX_LINES)
Lines = Annotated[list["InvoiceLineIn"], msgspec.Meta(min_length=1, max_length=100)]


class InvoiceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    due_date: date
    lines: Lines
    deal_id: UUID | None = None
    currency: str = "EUR"
    issue_date: date | None = None
    notes: str = ""


# a draft's edit: the invoice's own fields and, when sent, all of its lines (they replace the
# lines it had); fields left out keep their value
InvoicePatch = changes(
    "InvoicePatch",
    InvoiceOut,
    ("company_id", "deal_id", "currency", "issue_date", "due_date", "notes"),
    ("lines", Lines),
)


class InvoiceStatusIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A status change the invoice page offers (draft → sent or void; sent → paid, overdue or
    void; overdue → paid or void), from the version read (or send If-Match)."""

    status: str
    version: int | UnsetType = UNSET
