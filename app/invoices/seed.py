"""Demo invoices for `make run`: one sent, one draft, for two of the demo companies."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from app.accounts.schemas import Current
from app.core.forms import parse
from app.invoices.schemas import InvoiceForm
from app.invoices.services import change_status, create_invoice


async def seed_invoices(current: Current, company_ids: list[UUID]) -> None:
    """Two invoices through the real services (app.crm.seed made the companies)."""
    today = date.today()
    pilot_invoice = await create_invoice(
        current,
        parse(
            InvoiceForm,
            {
                "company_id": str(company_ids[1]),
                "currency": "EUR",
                "due_date": (today + timedelta(days=30)).isoformat(),
                "line-0-description": "Pick-and-place pilot: installation",
                "line-0-quantity": "1",
                "line-0-unit_price": "12500",
                "line-0-tax_rate": "19",
                "line-1-description": "On-site training (days)",
                "line-1-quantity": "2.5",
                "line-1-unit_price": "960",
                "line-1-tax_rate": "19",
            },
        ),
    )
    await change_status(current, pilot_invoice, "sent", version=1)
    await create_invoice(
        current,
        parse(
            InvoiceForm,
            {
                "company_id": str(company_ids[3]),
                "currency": "EUR",
                "due_date": (today + timedelta(days=14)).isoformat(),
                "line-0-description": "Gripper spare parts kit",
                "line-0-quantity": "4",
                "line-0-unit_price": "349.90",
                "line-0-tax_rate": "20",
            },
        ),
    )
