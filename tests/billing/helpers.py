"""Billing test helpers: read a tenant's billing state, notices and invoices as odex_app."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.billing.state import AccountState, read_account
from app.core.db import tenant_transaction


async def account(tenant_id: UUID) -> AccountState:
    async with tenant_transaction(tenant_id) as conn:
        return await read_account(conn, tenant_id)


async def notices(tenant_id: UUID) -> list[str]:
    async with tenant_transaction(tenant_id) as conn:
        rows = await conn.fetch(
            "select kind from notifications where kind like 'billing.%' order by created_at"
        )
    return [r["kind"] for r in rows]


async def invoices(tenant_id: UUID) -> list[tuple[str, str]]:
    async with tenant_transaction(tenant_id) as conn:
        rows = await conn.fetch(
            "select stripe_invoice_id, status from billing_invoices order by stripe_invoice_id"
        )
    return [(r[0], r[1]) for r in rows]


def comparable(state: AccountState) -> dict[str, Any]:
    """The state that must match between a clean run and a shuffled one (ids differ)."""
    return {
        "plan": state.plan,
        "status": state.status,
        "price": state.stripe_price_id,
        "in_grace": state.grace_until is not None,
        "cancel_at_period_end": state.cancel_at_period_end,
        "effective": state.effective_plan().key,
    }
