"""Demo invoices for `make run`: one sent, one draft, for two of the demo companies."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from app.accounts.schemas import Current
from app.core.forms import parse
from app.invoices.schemas import InvoiceForm
from app.invoices.services import change_status, create_invoice

Line = tuple[str, str, str, str]  # description, quantity, unit price, tax rate


async def _draft(current: Current, company_id: UUID, due_in_days: int, lines: list[Line]) -> UUID:
    """A EUR draft invoice made through the real form and service."""
    values = {
        "company_id": str(company_id),
        "currency": "EUR",
        "due_date": (date.today() + timedelta(days=due_in_days)).isoformat(),
    }
    for index, line in enumerate(lines):
        for field, value in zip(
            ("description", "quantity", "unit_price", "tax_rate"), line, strict=True
        ):
            values[f"line-{index}-{field}"] = value
    return await create_invoice(current, parse(InvoiceForm, values))


async def seed_invoices(current: Current, company_ids: list[UUID]) -> None:
    """Two invoices through the real services (app.crm.seed made the companies)."""
    pilot_invoice = await _draft(
        current,
        company_ids[1],
        30,
        [
            ("Pick-and-place pilot: installation", "1", "12500", "19"),
            ("On-site training (days)", "2.5", "960", "19"),
        ],
    )
    await change_status(current, pilot_invoice, "sent", version=1)
    await _draft(current, company_ids[3], 14, [("Gripper spare parts kit", "4", "349.90", "20")])
