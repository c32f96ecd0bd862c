"""A company's and a contact's fields in the order Odex hands them out, defined once: a CSV
import's new row (app/crm/import_queries.py) has the company's own fields, the API's
CompanyOut and ContactOut (app/api/schemas.py) and the webhooks' company and contact data
(app/webhooks/schemas.py) the stored record's. The API and webhook shapes are public contracts:
a field is only ever added, after the ones here. Frozen, as the API's records are (the webhooks'
data is copied, never changed in place)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType


class CompanyFields(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    domain: str | None
    industry: str | None
    size: str | None
    address: str | None


class CompanyRecord(CompanyFields, frozen=True):
    owner_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class ContactRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The personal `emails` and `phones` are left out where the reader may not see them (a
    webhook without the personal data grant); a shape that always sends them says so again, in
    place (keyword-only fields keep their place when a subclass redefines them)."""

    id: UUID
    first_name: str
    last_name: str
    emails: list[str] | UnsetType = UNSET
    phones: list[str] | UnsetType = UNSET
    title: str | None
    company_id: UUID | None
    owner_id: UUID | None
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
