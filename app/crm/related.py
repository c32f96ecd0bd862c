"""Records related to a company or contact that live in other apps' tables (deals, invoices)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction


async def company_deals(
    current: Current, company_id: UUID, limit: int = 100
) -> list[dict[str, Any]]:
    """Deals of a company with their stage, newest first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select d.id, d.title, d.amount, d.currency, s.name as stage_name, s.kind as stage_kind"
            " from deals d left join stages s on s.id = d.stage_id"
            " where d.tenant_id = $1 and d.company_id = $2 order by d.created_at desc limit $3",
            current.tenant_id,
            company_id,
            limit,
        )
    return [dict(r) for r in rows]


async def contact_deals(
    current: Current, contact_id: UUID, limit: int = 100
) -> list[dict[str, Any]]:
    """Deals a contact takes part in."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select d.id, d.title, d.amount, d.currency, s.name as stage_name, s.kind as stage_kind"
            " from deal_contacts dc join deals d on d.id = dc.deal_id"
            " left join stages s on s.id = d.stage_id"
            " where dc.tenant_id = $1 and dc.contact_id = $2 order by d.created_at desc limit $3",
            current.tenant_id,
            contact_id,
            limit,
        )
    return [dict(r) for r in rows]


async def company_invoices(
    current: Current, company_id: UUID, limit: int = 100
) -> list[dict[str, Any]]:
    """Invoices of a company, newest number first."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select id, number, status, currency, total, due_date from invoices"
            " where tenant_id = $1 and company_id = $2 order by number desc limit $3",
            current.tenant_id,
            company_id,
            limit,
        )
    return [dict(r) for r in rows]
