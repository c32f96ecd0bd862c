"""Activities on any record (plan, log, edit, delete, done) and the agenda page (/tasks)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, get, post

from app.accounts.form_routes import FormVisit, form_routes, shown_again
from app.accounts.schemas import Current
from app.core.clock import local_input, user_zone
from app.core.db import tenant_transaction
from app.core.forms import read_form, read_query
from app.core.forms.values import chosen_ids
from app.core.http_types import Req
from app.core.web import redirect, render
from app.crm import activities, agenda
from app.crm.activities import ActivityView
from app.crm.common import members
from app.crm.note_routes import read_record_form
from app.crm.notes import contact_choices, subject_link
from app.crm.schemas import (
    OUTCOMES,
    ActivityDelete,
    ActivityEdit,
    ActivityForm,
    AgendaQuery,
    NextPage,
)


@post("/records/{subject_type:str}/{subject_id:uuid}/tasks")
async def activity_create(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    """Plan or log an activity on a record (the record's page shows a refused form again)."""
    form = await read_record_form(request, current, subject_type, subject_id, ActivityForm, "task")
    await activities.add_activity(current, subject_type, subject_id, form)
    word = "logged" if form.done else "added"
    return redirect(
        request, subject_link(subject_type, subject_id), f"{form.kind.capitalize()} {word}."
    )


def edit_values(item: ActivityView, zone: str) -> dict[str, object]:
    """The edit form's values from the saved activity."""
    row = item.row
    return {
        "kind": row.kind,
        "title": row.title,
        "due_date": row.due_date.isoformat() if row.due_date else "",
        "due_at": local_input(row.due_at, zone),
        "duration_minutes": "" if row.duration_minutes is None else str(row.duration_minutes),
        "outcome": row.outcome or "",
        "participant_ids": [str(p) for p in row.participant_ids],
        "notes": item.notes,
        "assignee_id": str(row.assignee_id) if row.assignee_id else "",
        "done": "1" if row.done_at else "",
        "version": str(row.version),
    }


async def _edit_page(visit: FormVisit, activity_id: UUID) -> Response[str]:
    """The activity's edit form: as stored, or the refused input with its messages."""
    current, refused = visit.current, visit.refused
    item = await activities.read_activity(current, activity_id)
    zone = user_zone(current)
    values = refused.shown() if refused else edit_values(item, zone)
    async with tenant_transaction(current.tenant_id, current.user_id):
        people = await members()
        contacts = await contact_choices(chosen_ids(values.get("participant_ids")))
    ctx = {
        "item": item,
        "values": values,
        "errors": refused.errors if refused else {},
        "members": people,
        "contacts": contacts,
        "outcomes": OUTCOMES,
        "zone": zone,
    }
    status = refused.status if refused else 200
    return render(visit.request, "crm/activity_edit.html", ctx, status=status)


async def _save_edit(
    request: Req, current: Current, activity_id: UUID, form: ActivityEdit
) -> Response[str]:
    """Save an edit (409 with both versions when someone saved meanwhile)."""
    link = await activities.edit_activity(current, activity_id, form)
    return redirect(request, link, f"{form.kind.capitalize()} saved.")


EDIT_ROUTES = form_routes(
    "activity_edit", "/tasks/{activity_id:uuid}/edit", _edit_page, ActivityEdit, _save_edit
)


@post("/tasks/{activity_id:uuid}/delete")
async def activity_delete(request: Req, current: Current, activity_id: UUID) -> Response[str]:
    page = shown_again(_edit_page, request, current, activity_id)
    form = await read_form(request, ActivityDelete, page=page)
    link = await activities.delete_activity(current, activity_id, form.version)
    return redirect(request, form.next or link, "Activity deleted.", level="info")


async def _set_done(request: Req, current: Current, activity_id: UUID, done: bool) -> Response[str]:
    back = (await read_form(request, NextPage)).next
    link = await activities.set_done(current, activity_id, done)
    return redirect(request, back or link, "Marked done." if done else "Opened again.")


@post("/tasks/{activity_id:uuid}/done")
async def task_done(request: Req, current: Current, activity_id: UUID) -> Response[str]:
    return await _set_done(request, current, activity_id, True)


@post("/tasks/{activity_id:uuid}/reopen")
async def task_reopen(request: Req, current: Current, activity_id: UUID) -> Response[str]:
    return await _set_done(request, current, activity_id, False)


@get("/tasks")
async def agenda_page(request: Req, current: Current) -> Response[str]:
    """The agenda: overdue, today, the days ahead (admins: mine or everyone's)."""
    query = read_query(request, AgendaQuery)
    shown = await agenda.read_agenda(current, query.who == "everyone", query.page or 1)
    return render(request, "crm/tasks.html", {"agenda": shown}, block="agenda")


ROUTES = [
    activity_create,
    *EDIT_ROUTES,
    activity_delete,
    task_done,
    task_reopen,
    agenda_page,
]
