"""Records related to a company or contact that live in other apps' tables (deals, invoices)."""

from __future__ import annotations

from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.crm import queries
from app.crm.queries import RelatedDeal, RelatedInvoice


async def company_deals(current: Current, company_id: UUID, limit: int = 100) -> list[RelatedDeal]:
    """Deals of a company with their stage, newest first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await queries.company_deals(c, current.tenant_id, company_id, limit)


async def contact_deals(current: Current, contact_id: UUID, limit: int = 100) -> list[RelatedDeal]:
    """Deals a contact takes part in."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await queries.contact_deals(c, current.tenant_id, contact_id, limit)


async def company_invoices(
    current: Current, company_id: UUID, limit: int = 100
) -> list[RelatedInvoice]:
    """Invoices of a company, newest number first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        return await queries.company_invoices(c, current.tenant_id, company_id, limit)
