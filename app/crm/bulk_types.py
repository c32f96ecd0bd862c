"""The values a bulk action carries: its parameters (kept with the change), each changed
record's previous value, and what a batch did."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import msgspec

from app.crm.custom_fields import Stored


class BulkParams(msgspec.Struct, frozen=True):
    """A bulk action and its values, as the confirmation named them (kept with the change, so
    that its job reads exactly what the person confirmed)."""

    action: str
    owner_id: UUID | None = None
    owner_name: str | None = None
    tag: str = ""
    stage_id: UUID | None = None
    stage_name: str = ""
    stage_kind: str = ""  # open | won | lost
    lost_reason: str = ""
    job: bool = False  # run as a background job (its records in bulk_items)
    field_id: UUID | None = None  # "custom": the custom field set (or cleared)
    field_label: str = ""
    custom_raw: str = ""  # the value as typed
    custom_value: Stored | None = None  # as stored, once checked
    custom_text: str = ""  # as it reads
    clear: bool = False


class Previous(msgspec.Struct, frozen=True):
    """One changed record: its value before, and the version the change left it at."""

    id: UUID
    version: int
    value: str | list[str] | None


@dataclass
class Outcome:
    """What a batch did: the records changed (with their previous values), and how many were
    left alone because a rule keeps them (a company with invoices, a deal of another pipeline)."""

    changed: list[Previous] = field(default_factory=list)
    kept: int = 0
