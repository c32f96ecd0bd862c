"""Demo deals for `make run`: a board with a few cards in every stage."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from app.accounts.services import load_current
from app.core.db import tenant_transaction
from app.core.forms import parse
from app.crm.tables import Company
from app.deals import pipelines, services
from app.deals.schemas import DealForm

DEMO_DEALS = (
    # (title, amount, currency, stage, days until the expected close)
    ("Warehouse robot fleet", "184000", "EUR", "Lead", 90),
    ("Service contract renewal", "24000", "EUR", "Lead", 45),
    ("Pick-and-place pilot", "12500", "USD", "Qualified", 30),
    ("Gripper retrofit", "8900", "EUR", "Qualified", 60),
    ("Vision system upgrade", "56000", "EUR", "Proposal", 21),
    ("Training package", "4800", "GBP", "Negotiation", 10),
    ("Spare parts framework", "31000", "EUR", "Won", -5),
    ("Conveyor integration", "15000", "EUR", "Lost", -12),
)


async def seed_deals(tenant_id: UUID, user_id: UUID) -> int:
    """Put the demo deals on the tenant's default board (linked to companies if any exist)."""
    current = await load_current(user_id, tenant_id)
    if current is None:
        return 0
    await pipelines.ensure_default_pipeline(tenant_id)
    board = await pipelines.load_board(current)
    by_name = {col.stage.name: col.stage.id for col in board.columns}
    async with tenant_transaction(tenant_id, user_id):
        rows = await Company.select(Company.id).order_by(Company.name)
    companies = [r["id"] for r in rows]
    made = 0
    for index, (title, amount, currency, stage, days) in enumerate(DEMO_DEALS):
        if stage not in by_name:
            continue
        data = parse(
            DealForm,
            {
                "title": title,
                "amount": amount,
                "currency": currency,
                "stage_id": str(by_name[stage]),
                "expected_close_date": (date.today() + timedelta(days=days)).isoformat(),
                "owner_id": str(user_id),
                "company_id": str(companies[index % len(companies)]) if companies else "",
                "lost_reason": "Went with a cheaper supplier" if stage == "Lost" else "",
            },
        )
        await services.create_deal(current, data)
        made += 1
    return made
