"""The activities' SQL that Piccolo cannot say well, as named typed functions returning Structs:
activities with their record's and people's names, the agenda's ordered page, and the
reminder claim (an UPDATE … RETURNING that marks what it reminds in the same transaction)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import fetch_as, fetch_one_as

# when an activity is due, as one instant (a dated to-do: the start of its day, UTC); the
# partial indexes of migrations/crm (tasks_open_by_subject, tasks_reminder_due) use it too
DUE_KEY = "coalesce(t.due_at, t.due_date::timestamp at time zone 'UTC')"
# the name of the record an activity is on, whatever its type
SUBJECT_NAME = (
    "coalesce(nullif(coalesce(nullif(trim(ct.first_name || ' ' || ct.last_name), ''), co.name,"
    " d.title, initcap(t.subject_type)), ''), '(no name)')"
)
SUBJECT_JOINS = (
    " left join contacts ct on t.subject_type = 'contact' and ct.id = t.subject_id"
    " left join companies co on t.subject_type = 'company' and co.id = t.subject_id"
    " left join deals d on t.subject_type = 'deal' and d.id = t.subject_id"
)
ACTIVITY_SELECT = (
    "select t.id, t.tenant_id, t.subject_type, t.subject_id, t.kind, t.title, t.due_date,"
    " t.due_at, t.duration_minutes, t.outcome, t.participant_ids, t.notes_enc, t.assignee_id,"
    " u.name as assignee_name, t.done_at, t.version, t.created_at,"
    f" {SUBJECT_NAME} as subject_name,"
    " coalesce((select array_agg(p.name order by p.last_name, p.first_name) from (select"
    " nullif(trim(first_name || ' ' || last_name), '') as name, first_name, last_name"
    " from contacts where id = any(t.participant_ids)) p where p.name is not null), '{}')"
    " as participants, coalesce(t.done_at is null"
    " and (t.due_at < now() or t.due_date < current_date), false) as overdue"
    " from tasks t left join users u on u.id = t.assignee_id" + SUBJECT_JOINS
)


class ActivityHead(msgspec.Struct, frozen=True):
    """An activity's kind, title and due time, and the record it is on."""

    id: UUID
    subject_type: str
    subject_id: UUID
    subject_name: str
    kind: str
    title: str
    due_date: date | None
    due_at: datetime | None


class ActivityRow(ActivityHead, frozen=True):
    """An activity as the pages show it (`notes_enc` still sealed: app/crm/secure.py)."""

    tenant_id: UUID
    duration_minutes: int | None
    outcome: str | None
    participant_ids: list[UUID]
    participants: list[str]
    notes_enc: str | None
    assignee_id: UUID | None
    assignee_name: str | None
    done_at: datetime | None
    version: int
    created_at: datetime
    overdue: bool


async def fetch_activity(conn: asyncpg.Connection, activity_id: UUID) -> ActivityRow | None:
    """One activity of the current tenant (None: not there, or another tenant's)."""
    return await fetch_one_as(conn, ActivityRow, ACTIVITY_SELECT + " where t.id = $1", activity_id)


async def record_activities(
    conn: asyncpg.Connection, subject_type: str, subject_id: UUID, limit: int = 200
) -> list[ActivityRow]:
    """A record's activities: open ones first, soonest due first; then logged ones, newest."""
    return await fetch_as(
        conn,
        ActivityRow,
        ACTIVITY_SELECT + " where t.subject_type = $1 and t.subject_id = $2"
        f" order by t.done_at is not null, {DUE_KEY} nulls last, t.done_at desc, t.created_at"
        " limit $3",
        subject_type,
        subject_id,
        limit,
    )


async def agenda_page(
    conn: asyncpg.Connection, assignee_id: UUID | None, limit: int, offset: int
) -> list[ActivityRow]:
    """Open activities (of `assignee_id`, or everyone's), overdue first, then by due time;
    undated ones last."""
    return await fetch_as(
        conn,
        ActivityRow,
        ACTIVITY_SELECT + " where t.done_at is null and ($1::uuid is null or t.assignee_id = $1)"
        f" order by {DUE_KEY} nulls last, t.created_at, t.id limit $2 offset $3",
        assignee_id,
        limit,
        offset,
    )


async def contacts_found(conn: asyncpg.Connection, contact_ids: list[UUID]) -> int:
    """How many of `contact_ids` are contacts of the current tenant (RLS hides the rest)."""
    return int(
        await conn.fetchval("select count(*) from contacts where id = any($1::uuid[])", contact_ids)
    )


class DueReminder(ActivityHead, frozen=True):
    """An activity whose reminder is being sent now, with whom to remind."""

    assignee_id: UUID
    assignee_name: str
    assignee_email: str
    assignee_zone: str = "UTC"  # the assignee's time zone: the reminder's times are in it


async def claim_due_reminders(
    conn: asyncpg.Connection, morning_hour: int, window_hours: int, limit: int
) -> list[DueReminder]:
    """Mark the tenant's open activities that are due now (a timed one at its time, a dated
    to-do at `morning_hour` of its day in the assignee's time zone; none older than
    `window_hours`) as reminded and return them. Rows another transaction holds are skipped
    and `reminded_at` is set here, so each one is claimed exactly once, however many workers
    run this at the same time."""
    remind_at = "coalesce(t.due_at, (t.due_date + make_time($1, 0, 0)) at time zone u.time_zone)"
    rows = await conn.fetch(
        "with due as (select t.id from tasks t join users u on u.id = t.assignee_id"
        " where t.done_at is null and t.reminded_at is null"
        " and t.assignee_id is not null and (t.due_at is not null or t.due_date is not null)"
        f" and {remind_at} <= now()"
        f" and {remind_at} > now() - make_interval(hours => $2)"
        f" order by {DUE_KEY} limit $3 for update of t skip locked)"
        " update tasks t set reminded_at = now() from due where t.id = due.id"
        " returning t.id",
        morning_hour,
        window_hours,
        limit,
    )
    if not rows:
        return []
    return await fetch_as(
        conn,
        DueReminder,
        "select t.id, t.subject_type, t.subject_id, t.kind, t.title, t.due_date, t.due_at,"
        " t.assignee_id, u.name as assignee_name, u.email as assignee_email,"
        f" coalesce(nullif(u.time_zone, ''), 'UTC') as assignee_zone, {SUBJECT_NAME}"
        " as subject_name from tasks t join users u on u.id = t.assignee_id"
        + SUBJECT_JOINS
        + f" where t.id = any($1::uuid[]) order by {DUE_KEY}, t.id",
        [r["id"] for r in rows],
    )
