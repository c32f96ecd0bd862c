"""The agenda: a person's (or, for admins, everyone's) open activities, overdue first, then
today and the days ahead, grouped by day in the reader's time zone, a page at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec

from app.accounts.schemas import Current
from app.core.clock import in_zone, user_zone
from app.core.db import tenant_transaction
from app.crm import activity_queries as queries
from app.crm.activities import ActivityView, view

PAGE_SIZE = 50


class AgendaDay(msgspec.Struct, frozen=True):
    """One heading of the agenda and its activities."""

    label: str
    key: str  # overdue | today | a date (YYYY-MM-DD) | undated
    items: list[ActivityView]


class Agenda(msgspec.Struct, frozen=True):
    days: list[AgendaDay]
    everyone: bool
    page: int
    has_next: bool
    zone: str


def day_of(item: ActivityView, zone: str) -> date | None:
    """The day an activity is due on, as the reader counts days."""
    if item.row.due_at is not None:
        return in_zone(item.row.due_at, zone).date()
    return item.row.due_date


def group_by_day(items: list[ActivityView], zone: str, now: datetime) -> list[AgendaDay]:
    """Overdue, Today, Tomorrow, then each later day, then the undated ones (input in due
    order)."""
    today = in_zone(now, zone).date()
    keyed: dict[str, tuple[str, list[ActivityView]]] = {}
    for item in items:
        day = day_of(item, zone)
        if item.row.overdue:
            key, label = "overdue", "Overdue"
        elif day is None:
            key, label = "undated", "No date"
        elif day <= today:
            key, label = "today", "Today"
        elif day == today + timedelta(days=1):
            key, label = day.isoformat(), "Tomorrow"
        else:
            key, label = day.isoformat(), day.strftime("%A %d %B %Y")
        keyed.setdefault(key, (label, []))[1].append(item)
    order = ["overdue", "today", *sorted(k for k in keyed if k[0].isdigit()), "undated"]
    return [AgendaDay(keyed[k][0], k, keyed[k][1]) for k in order if k in keyed]


async def read_agenda(current: Current, everyone: bool, page: int) -> Agenda:
    """One page of the agenda; `everyone` only for admins (others see their own)."""
    everyone = everyone and current.is_admin
    zone = user_zone(current)
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await queries.agenda_page(
            c, None if everyone else current.user_id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
        )
    items = [view(r) for r in rows[:PAGE_SIZE]]
    days = group_by_day(items, zone, datetime.now(UTC))
    return Agenda(days, everyone, page, len(rows) > PAGE_SIZE, zone)
