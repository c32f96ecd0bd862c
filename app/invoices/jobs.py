"""Invoice jobs: mark sent invoices whose due date has passed as overdue, tenant by tenant."""

from __future__ import annotations

from uuid import UUID

from arq import cron
from piccolo.querystring import QueryString

from app.core.crypto import all_tenant_ids
from app.core.db import tenant_transaction
from app.crm.activity import record_activity
from app.invoices.schemas import invoice_number
from app.invoices.tables import Invoice

NOW = QueryString("now()")


async def mark_overdue_in_tenant(tenant_id: UUID) -> int:
    """Sent invoices past their due date become overdue (with a timeline entry each)."""
    async with tenant_transaction(tenant_id):
        rows = await (
            Invoice.update({Invoice.status: "overdue", Invoice.updated_at: NOW})
            .where(
                (Invoice.tenant_id == tenant_id)
                & (Invoice.status == "sent")
                & (Invoice.due_date < QueryString("current_date"))
            )
            .returning(Invoice.id, Invoice.number)
        )
        for row in rows:
            await record_activity(
                tenant_id,
                None,
                "invoice",
                row["id"],
                "status",
                f"marked {invoice_number(row['number'])} as overdue (due date passed)",
                {"status": {"from": "sent", "to": "overdue"}},
            )
    return len(rows)


async def mark_overdue_invoices(ctx: dict[str, object] | None = None) -> int:
    """arq cron job; idempotent, so an hourly run catches up on any missed day."""
    return sum([await mark_overdue_in_tenant(tenant_id) for tenant_id in await all_tenant_ids()])


INVOICE_CRON = cron(mark_overdue_invoices, minute={7}, run_at_startup=True, timeout=1800)
