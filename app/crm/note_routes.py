"""Notes and tasks on any record (contact, company, deal) and the "my tasks" page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.errors import FormInvalid, RecordNotFound
from app.core.web import get_session, redirect, render
from app.crm import notes
from app.crm.company_routes import render_company
from app.crm.contact_routes import render_contact
from app.crm.web import Req, form_values
from app.deals.routes import render_deal


async def _back_with_errors(
    request: Req, current: Current, subject_type: str, subject_id: UUID, extra: dict[str, Any]
) -> Response[str]:
    """Re-render the record's page with the form's inline errors (422)."""
    if subject_type == "contact":
        return await render_contact(request, current, subject_id, extra, status=422)
    if subject_type == "company":
        return await render_company(request, current, subject_id, extra, status=422)
    return await render_deal(request, current, subject_id, extra, status=422)


def _check_type(subject_type: str) -> None:
    if subject_type not in notes.SUBJECTS:
        raise RecordNotFound(subject_type)


@post("/records/{subject_type:str}/{subject_id:uuid}/notes")
async def note_create(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    _check_type(subject_type)
    values = await form_values(request)
    try:
        await notes.add_note(current, subject_type, subject_id, values.get("body", ""))
    except FormInvalid as exc:
        extra = {"note_errors": exc.errors, "note_body": values.get("body", "")[:10000]}
        return await _back_with_errors(request, current, subject_type, subject_id, extra)
    get_session(request).flash("success", "Note added.")
    return redirect(request, notes.subject_link(subject_type, subject_id))


@post("/notes/{note_id:uuid}/delete")
async def note_delete(request: Req, current: Current, note_id: UUID) -> Response[str]:
    subject_type, subject_id = await notes.delete_note(current, note_id)
    get_session(request).flash("info", "Note deleted.")
    return redirect(request, notes.subject_link(subject_type, subject_id))


@post("/records/{subject_type:str}/{subject_id:uuid}/tasks")
async def task_create(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    _check_type(subject_type)
    values = await form_values(request)
    try:
        await notes.add_task(current, subject_type, subject_id, values)
    except FormInvalid as exc:
        extra = {"task_errors": exc.errors, "task_values": values}
        return await _back_with_errors(request, current, subject_type, subject_id, extra)
    get_session(request).flash("success", "Task added.")
    return redirect(request, notes.subject_link(subject_type, subject_id))


async def _set_done(request: Req, current: Current, task_id: UUID, done: bool) -> Response[str]:
    values = await form_values(request)
    task = await notes.set_task_done(current, task_id, done)
    get_session(request).flash("success", "Task done." if done else "Task reopened.")
    target = "/tasks" if values.get("next") == "/tasks" else None
    return redirect(request, target or notes.subject_link(task["subject_type"], task["subject_id"]))


@post("/tasks/{task_id:uuid}/done")
async def task_done(request: Req, current: Current, task_id: UUID) -> Response[str]:
    return await _set_done(request, current, task_id, True)


@post("/tasks/{task_id:uuid}/reopen")
async def task_reopen(request: Req, current: Current, task_id: UUID) -> Response[str]:
    return await _set_done(request, current, task_id, False)


@get("/tasks")
async def my_tasks(request: Req, current: Current) -> Response[str]:
    return render(request, "crm/tasks.html", {"tasks": await notes.my_open_tasks(current)})


ROUTES = [note_create, note_delete, task_create, task_done, task_reopen, my_tasks]
