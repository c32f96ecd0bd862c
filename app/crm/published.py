"""A company's fields in the order Odex hands them out, defined once: a CSV import's new row
(app/crm/import_queries.py) has its own fields, the API's CompanyOut (app/api/schemas.py) and
the webhooks' company data (app/webhooks/schemas.py) the stored record's. The API and webhook
shapes are public contracts: a field is only ever added, after the ones here. Frozen, as the
API's records are (the webhooks' company data is copied, never changed in place)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


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
