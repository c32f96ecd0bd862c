"""Demo workspace for `make run`: a demo user and sample data, only into an empty database."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from app import domains
from app.accounts import services
from app.accounts.tables import User
from app.core import db, redis
from app.core.db import global_transaction
from app.crm.seed import seed_crm
from app.deals.seed import seed_deals
from app.invoices.seed import seed_invoices
from app.settings import get_settings

DEMO_EMAIL = "demo@odex.test"
DEMO_PASSWORD = "odex-demo-2026"  # noqa: S105 - published demo login for the local seed only


async def seed_records(tenant_id: UUID, user_id: UUID) -> int:
    """The demo CRM records and invoices of one workspace; returns how many companies."""
    current = await services.load_current(user_id, tenant_id)
    if current is None:
        return 0
    company_ids = await seed_crm(current)
    await seed_invoices(current, company_ids)
    return len(company_ids)


async def seed_demo() -> None:
    settings = get_settings()
    domains.load()
    await db.start_pool(max_size=2)
    await redis.connect(settings.redis_url)
    try:
        async with global_transaction():
            if await User.count() > 0:
                print("database already has users: not seeding")
                return
        user_id, _tenant = await services.sign_up(
            "Dana Demo", DEMO_EMAIL, "Acme Robotics", DEMO_PASSWORD
        )
        async with global_transaction():
            await User.update({User.email_verified_at: datetime.now(UTC)}).where(User.id == user_id)
        await seed_records(_tenant, user_id)  # first: the demo deals link to its companies
        await seed_deals(_tenant, user_id)
        print(f"seeded demo workspace: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
    finally:
        await redis.disconnect()
        await db.close_pool()
