"""The billing domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.billing import routes
from app.billing.grace import GRACE_CRON
from app.billing.jobs import BILLING_CRON, BILLING_FUNCTIONS
from app.billing.limits import check_seat_limit
from app.core.domain import Domain, NavEntry, Subscription
from app.core.events import SeatsRequested


async def _seats_requested(event: SeatsRequested) -> None:
    await check_seat_limit(event.tenant_id, event.adding)  # FormInvalid past the plan's seats


DOMAIN = Domain(
    name="billing",
    routes=routes.ROUTES,
    jobs=BILLING_FUNCTIONS,
    crons=(BILLING_CRON, GRACE_CRON),
    subscriptions=(Subscription(SeatsRequested, _seats_requested),),
    nav=(NavEntry("workspace", "/settings/billing", "credit-card", "Billing", order=20),),
)
