"""Stripe's invoices as the billing page and the My data page list them: newest first, undated
ones last, the workspace's own only."""

from __future__ import annotations

from datetime import UTC, datetime

from app.billing.datamap import TREATMENTS
from app.billing.services import recent_invoices
from app.billing.tables import BillingInvoice
from app.core.datamap import Viewer
from app.core.db import tenant_transaction
from tests.helpers import Account


async def _invoice(tenant: Account, stripe_id: str, created: datetime | None) -> None:
    row = BillingInvoice(
        tenant_id=tenant.tenant_id,
        stripe_invoice_id=stripe_id,
        number=stripe_id,
        status="paid",
        invoice_created=created,
    )
    async with tenant_transaction(tenant.tenant_id):
        await BillingInvoice.insert(row)


async def test_newest_first_undated_last_own_workspace_only(
    tenant_a: Account, tenant_b: Account
) -> None:
    await _invoice(tenant_a, "in_old", datetime(2026, 1, 1, tzinfo=UTC))
    await _invoice(tenant_a, "in_undated", None)
    await _invoice(tenant_a, "in_new", datetime(2026, 6, 1, tzinfo=UTC))
    await _invoice(tenant_b, "in_other", datetime(2026, 7, 1, tzinfo=UTC))

    async with tenant_transaction(tenant_a.tenant_id):
        listed = [i.stripe_invoice_id for i in await recent_invoices(24)]
        assert listed == ["in_new", "in_old", "in_undated"]
        assert [i.stripe_invoice_id for i in await recent_invoices(2)] == ["in_new", "in_old"]

    viewer = Viewer(tenant_a.user_id, tenant_a.tenant_id, tenant_a.email)
    section = await TREATMENTS.read[1](viewer, None, 50)
    assert [r["number"] for r in section.rows] == ["in_new", "in_old", "in_undated"]
    keys = ["number", "status", "amount_due", "amount_paid", "currency", "invoice_created"]
    assert all(list(r) == keys for r in section.rows)  # what the page shows, nothing more
