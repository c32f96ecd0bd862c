"""The webhooks domain, declared once (see app.core.domain)."""

from __future__ import annotations

from arq import cron

from app.core.domain import Domain, NavEntry, Subscription
from app.core.events import MemberJoined, RecordChanged
from app.webhooks import routes
from app.webhooks.jobs import deliver_webhook, sweep_webhooks
from app.webhooks.outbox import on_member_joined, on_record_changed

DOMAIN = Domain(
    name="webhooks",
    routes=routes.ROUTES,
    jobs=(deliver_webhook,),
    # retries that are due and first attempts whose job was lost (app/webhooks/jobs.py)
    crons=(cron(sweep_webhooks, second={0, 15, 30, 45}, run_at_startup=True, timeout=60),),
    subscriptions=(
        Subscription(RecordChanged, on_record_changed),
        Subscription(MemberJoined, on_member_joined),
    ),
    nav=(
        NavEntry(
            "workspace", "/settings/webhooks", "broadcast", "Webhooks", order=60, audience="admin"
        ),
    ),
)
