"""Activities: tasks become calls, meetings, emails and to-dos, planned (due) or logged (done),
with duration, outcome, participants, encrypted notes, a version (no lost updates) and the
time their due reminder went out (`reminded_at`, set in the transaction that sends it)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "activities: calls, meetings, emails; editable tasks; due reminders"

SQL = """
alter table tasks
    add column kind text not null default 'task'
        check (kind in ('task', 'call', 'meeting', 'email')),
    add column due_at timestamptz,
    add column duration_minutes integer check (duration_minutes between 0 and 1440),
    add column outcome text check (outcome in ('connected', 'no_answer', 'left_voicemail',
        'held', 'cancelled', 'sent', 'replied')),
    add column participant_ids uuid[] not null default '{}',
    add column notes_enc text,
    add column reminded_at timestamptz,
    add column version integer not null default 1 check (version > 0);

-- what is due and not yet reminded (the reminder cron's scan, workspace by workspace)
create index tasks_reminder_due on tasks (tenant_id,
    coalesce(due_at, due_date::timestamp at time zone 'UTC'))
    where done_at is null and reminded_at is null and (due_at is not null or due_date is not null);
-- the next open activity of a record (a deal card's "next activity")
create index tasks_open_by_subject on tasks (tenant_id, subject_type, subject_id,
    coalesce(due_at, due_date::timestamp at time zone 'UTC')) where done_at is null;
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
