"""Records related to a company or contact that live in other apps' tables (deals, invoices)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.crm import queries
from app.crm.queries import RelatedDeal, RelatedInvoice


async def related_deals(
    current: Current, kind: Literal["company", "contact"], record_id: UUID, limit: int = 100
) -> list[RelatedDeal]:
    """Deals of a company, or those a contact takes part in, with their stage, newest first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await queries.related_deals(c, current.tenant_id, kind, record_id, limit)


async def company_invoices(
    current: Current, company_id: UUID, limit: int = 100
) -> list[RelatedInvoice]:
    """Invoices of a company, newest number first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await queries.company_invoices(c, current.tenant_id, company_id, limit)
