"""The notifications domain, declared once (see app.core.domain)."""

from __future__ import annotations

from arq import cron

from app.core.domain import Domain, Slot
from app.notifications import routes
from app.notifications.jobs import deliver_outbox, sweep_outbox

DOMAIN = Domain(
    name="notifications",
    routes=routes.ROUTES,
    jobs=(deliver_outbox,),
    crons=(cron(sweep_outbox, second={0}, run_at_startup=True),),
    slots=(
        Slot("header_actions", "notifications/_bell_slot.html", order=20, kept_by=("tenant_id",)),
    ),
)
