"""Activities on contacts, companies and deals: to-dos, calls, meetings and emails, planned (a
due date or time) or logged (done), editable with the record-version check and deletable;
the assignee hears of a new assignment at once and of a due activity through the reminders
(app/crm/reminders.py). Notes of an activity are sealed like note bodies (app/crm/secure.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.clock import from_local, user_zone
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.crm import activity_queries as queries
from app.crm.activity import edit_conflict, field_diff, log_activity, stale_page
from app.crm.activity_queries import ActivityRow
from app.crm.common import check_member, conn
from app.crm.notes import subject_link, subject_name
from app.crm.schemas import OUTCOMES, UNKNOWN_CONTACT, ActivityEdit, ActivityForm
from app.crm.secure import open_activity_notes, seal_activity_notes
from app.crm.tables import Task
from app.notifications.services import notify

KIND_WORDS = {"task": "task", "call": "call", "meeting": "meeting", "email": "email"}
EDITED = ("kind", "title", "due_date", "due_at", "duration_minutes", "outcome", "assignee_id")


class ActivityView(msgspec.Struct, frozen=True):
    """An activity with its notes opened and its record's link, as templates read it."""

    row: ActivityRow
    notes: str
    link: str
    outcome_words: str


def view(row: ActivityRow) -> ActivityView:
    return ActivityView(
        row=row,
        notes=open_activity_notes(row.notes_enc, row.tenant_id, row.id),
        link=subject_link(row.subject_type, row.subject_id),
        outcome_words=OUTCOMES[row.outcome][0] if row.outcome else "",
    )


def _when(form: ActivityForm, zone: str) -> tuple[date | None, datetime | None]:
    """(due_date, due_at in UTC): a to-do keeps a date, a timed activity an instant."""
    due_at = from_local(form.due_at, zone) if form.due_at is not None else None
    return (None if due_at is not None else form.due_date), due_at


def _stored(current: Current, activity_id: UUID, form: ActivityForm) -> dict[str, Any]:
    """The columns an activity form sets, by name, as adding and editing store them (the due
    time in UTC, the notes sealed)."""
    due_date, due_at = _when(form, user_zone(current))
    return {
        **{name: getattr(form, name) for name in EDITED},
        "due_date": due_date,
        "due_at": due_at,
        "outcome": form.outcome or None,
        "participant_ids": form.participant_ids,
        "notes_enc": seal_activity_notes(form.notes, current.tenant_id, activity_id),
    }


async def _check_participants(ids: list[UUID]) -> None:
    """Refuse contact ids that are not the current workspace's (another tenant's: unseen)."""
    if ids and await queries.contacts_found(conn(), ids) != len(ids):
        raise FormInvalid({"participant_ids": UNKNOWN_CONTACT})


def _summary(verb: str, kind: str, title: str) -> str:
    return f"{verb} the {KIND_WORDS[kind]} “{title}”"


async def add_activity(
    current: Current, subject_type: str, subject_id: UUID, form: ActivityForm
) -> UUID:
    """Plan or log an activity; the assignee (when not the creator) gets a notification."""
    activity_id = uuid.uuid4()
    stored = _stored(current, activity_id, form)
    due_date, due_at = stored["due_date"], stored["due_at"]
    async with tenant_transaction(current.tenant_id, current.user_id):
        name = await subject_name(subject_type, subject_id)
        await check_member(form.assignee_id, "assignee_id", "someone")
        await _check_participants(form.participant_ids)
        await Task.insert(
            Task(
                id=activity_id,
                tenant_id=current.tenant_id,
                subject_type=subject_type,
                subject_id=subject_id,
                created_by=current.user_id,
                done_at=await conn().fetchval("select now()") if form.done else None,
                **stored,
            )
        )
        verb = "logged" if form.done else ("added" if form.kind == "task" else "planned")
        summary = _summary(verb, form.kind, form.title)
        await log_activity(current, subject_type, subject_id, "task", summary)
        if form.assignee_id is not None and form.assignee_id != current.user_id and not form.done:
            when = ""
            if due_at is not None:
                when = f" (due {due_at:%d %b %Y %H:%M} UTC)"
            elif due_date is not None:
                when = f" (due {due_date.isoformat()})"
            await notify(
                current.tenant_id,
                form.assignee_id,
                "task_assigned",
                f"{current.name} assigned you a {KIND_WORDS[form.kind]} on {name}",
                f"{form.title}{when}",
                subject_link(subject_type, subject_id),
            )
    return activity_id


async def read_activity(current: Current, activity_id: UUID) -> ActivityView:
    """One activity of the workspace (RecordNotFound for another's or a missing one)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await queries.fetch_activity(c, activity_id)
    if row is None:
        raise RecordNotFound("activity")
    return view(row)


async def _locked(activity_id: UUID) -> dict[str, Any]:
    row = await conn().fetchrow("select * from tasks where id = $1 for update", activity_id)
    if row is None:
        raise RecordNotFound("activity")
    return dict(row)


async def edit_activity(current: Current, activity_id: UUID, form: ActivityEdit) -> str:
    """Save an edit made from `form.version` (EditConflict when someone saved meanwhile);
    a new due time is reminded again. Returns the record's link."""
    after = _stored(current, activity_id, form)
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _locked(activity_id)
        if before["version"] != form.version:
            raise await edit_conflict(
                before["subject_type"],
                before["subject_id"],
                "activity",
                before,
                after,
                EDITED,
                before["version"],
            )
        await check_member(form.assignee_id, "assignee_id", "someone")
        await _check_participants(form.participant_ids)
        changes = field_diff(before, after, EDITED)
        notes_before = open_activity_notes(before["notes_enc"], current.tenant_id, activity_id)
        if notes_before != form.notes:
            changes["notes"] = {"from": "…", "to": "…"}  # never the text itself
        if set(before["participant_ids"]) != set(form.participant_ids):
            changes["participants"] = {
                "from": len(before["participant_ids"]),
                "to": len(form.participant_ids),
            }
        rescheduled = any(before[k] != after[k] for k in ("due_date", "due_at"))
        saved = (
            await Task.update(
                {
                    **{getattr(Task, k): v for k, v in after.items()},
                    Task.version: before["version"] + 1,
                    Task.updated_at: await conn().fetchval("select now()"),
                    Task.reminded_at: None if rescheduled else before["reminded_at"],
                    Task.done_at: (before["done_at"] or await conn().fetchval("select now()"))
                    if form.done
                    else None,
                }
            )
            .where((Task.id == activity_id) & (Task.version == form.version))
            .returning(Task.id)
        )
        if not saved:  # the row lock makes this unreachable; never say "saved"
            raise RecordNotFound("activity")
        handed = form.assignee_id not in (None, before["assignee_id"], current.user_id)
        if handed and form.assignee_id is not None and not form.done:
            await notify(
                current.tenant_id,
                form.assignee_id,
                "task_assigned",
                f"{current.name} assigned you a {KIND_WORDS[form.kind]} on "
                f"{await subject_name(before['subject_type'], before['subject_id'])}",
                form.title,
                subject_link(before["subject_type"], before["subject_id"]),
            )
        if changes:
            await log_activity(
                current,
                before["subject_type"],
                before["subject_id"],
                "task",
                _summary("changed", form.kind, form.title)
                + ": "
                + ", ".join(k.removesuffix("_id").replace("_", " ") for k in changes),
                {k: v for k, v in changes.items() if k not in ("notes",)},
            )
    return subject_link(before["subject_type"], before["subject_id"])


async def delete_activity(current: Current, activity_id: UUID, version: int) -> str:
    """Delete an activity shown at `version` (a stale page asks again); returns the record's
    link."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _locked(activity_id)
        if before["version"] != version:
            raise await stale_page(
                before["subject_type"], before["subject_id"], "activity", before["version"]
            )
        await Task.delete().where(Task.id == activity_id)
        summary = _summary("deleted", before["kind"], before["title"])
        await log_activity(current, before["subject_type"], before["subject_id"], "task", summary)
    return subject_link(before["subject_type"], before["subject_id"])


async def set_done(current: Current, activity_id: UUID, done: bool) -> str:
    """Mark an activity done (logged) or open again; returns the record's link."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "update tasks set done_at = case when $2 then coalesce(done_at, now()) end,"
            " version = version + 1, updated_at = now() where id = $1 returning *",
            activity_id,
            done,
        )
        if row is None:
            raise RecordNotFound("activity")
        summary = _summary("completed" if done else "reopened", row["kind"], row["title"])
        await log_activity(current, row["subject_type"], row["subject_id"], "task", summary)
    return subject_link(row["subject_type"], row["subject_id"])


async def record_panel(subject_type: str, subject_id: UUID) -> list[ActivityView]:
    """A record's activities, inside the caller's tenant transaction."""
    return [view(r) for r in await queries.record_activities(conn(), subject_type, subject_id)]
