"""Due reminders: a cron job that tells each activity's assignee, once, that it is due — in
the live notification feed and by mail. A timed activity is reminded at its time, a dated
to-do in the morning of its day. The claim sets `reminded_at` in the transaction that writes
the notification and the mail (app/crm/activity_queries.claim_due_reminders), and the job
runs under a lease, so two workers never remind twice."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arq import cron

from app.core.crypto import all_tenant_ids
from app.core.db import tenant_transaction
from app.core.lease import leased
from app.core.mail import queue_mail
from app.crm.activity_queries import DueReminder, claim_due_reminders
from app.crm.notes import subject_link
from app.notifications.services import notify
from app.settings import get_settings

REMINDER_JOB = "send_due_reminders"
MORNING_HOUR = 8  # a dated to-do is reminded at 08:00 in the assignee's time zone
WINDOW_HOURS = 36  # older dues (a worker down for days, a to-do typed in late) get none
BATCH = 500


def due_words(item: DueReminder) -> str:
    if item.due_at is not None:
        try:
            zone = ZoneInfo(item.assignee_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        local = item.due_at.astimezone(zone)
        return f"due {local:%d %b %Y %H:%M} ({item.assignee_zone})"
    return f"due {item.due_date:%d %b %Y}" if item.due_date else "due"


async def remind_in_tenant(tenant_id: UUID) -> int:
    """Send the workspace's due reminders (feed + mail) in one transaction per batch."""
    sent = 0
    while True:
        async with tenant_transaction(tenant_id) as conn:
            due = await claim_due_reminders(conn, MORNING_HOUR, WINDOW_HOURS, BATCH)
            for item in due:
                link = subject_link(item.subject_type, item.subject_id)
                title = f"Due now: {item.title}"
                body = f"{item.kind.capitalize()} on {item.subject_name}, {due_words(item)}"
                await notify(tenant_id, item.assignee_id, "reminder", title, body, link)
                await queue_mail(
                    "reminder",
                    item.assignee_email,
                    f"Reminder: {item.title}",
                    "activity_reminder.txt",
                    name=item.assignee_name,
                    item=item,
                    when=due_words(item),
                    url=get_settings().base_url.rstrip("/") + link,
                )
        sent += len(due)
        if len(due) < BATCH:
            return sent


@leased(REMINDER_JOB, repeatable=True, skipped=0)
async def send_due_reminders(ctx: dict[str, object] | None = None) -> int:
    """arq cron job (every minute); returns how many reminders went out."""
    return sum([await remind_in_tenant(t) for t in await all_tenant_ids()])


REMINDER_CRON = cron(send_due_reminders, second={15}, run_at_startup=True, timeout=300)
