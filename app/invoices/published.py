"""An invoice's identity and terms in the order Odex hands them out, defined once: the API's
InvoiceOut (app/api/schemas.py), the webhooks' invoice data (app/webhooks/schemas.py) and the
row its pages print (app/invoices/queries.py) start with them. The API and webhook shapes are
public contracts: a field is only ever added, after the ones here."""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

Number = TypeVar("Number", int, str)


class InvoiceTerms(msgspec.Struct, Generic[Number], kw_only=True):
    """Keyword-only, so that each shape adds its own fields after these. `number` is what the
    workspace's counter gave: a whole number, handed out as text by the API."""

    id: UUID
    number: Number
    company_id: UUID
    deal_id: UUID | None
    currency: str
    status: str
    issue_date: date
    due_date: date
