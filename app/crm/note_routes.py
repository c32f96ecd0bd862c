"""Notes on any record (contact, company, deal); the record pages that show refused forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Form, read_form, read_query
from app.core.forms.values import chosen_ids
from app.core.http_types import Req
from app.core.paging import NEWEST_FIRST, decode_cursor
from app.core.web import get_session, redirect, render
from app.crm import notes
from app.crm.activity import timeline_page
from app.crm.company_routes import render_company
from app.crm.contact_routes import render_contact
from app.crm.schemas import NoteForm, TimelineQuery

F = TypeVar("F", bound=Form)
RecordPage = Callable[[Req, Current, UUID, dict[str, object]], Awaitable[Response[Any]]]

# subject type -> its record page; a higher domain with notes on its records (deals) adds its own
# at start-up (its Domain's wiring), so crm never imports it.
RECORD_PAGES: dict[str, RecordPage] = {"contact": render_contact, "company": render_company}


def register_record_page(subject_type: str, page: RecordPage) -> None:
    """Show a refused note or task form on `subject_type`'s record page."""
    RECORD_PAGES[subject_type] = page


async def _record_page(
    request: Req,
    current: Current,
    subject_type: str,
    subject_id: UUID,
    form: str,
    refused: FormInvalid,
) -> Response[str]:
    """The record's page again, the refused note or task form with its messages and input."""
    shown = refused.shown()
    extra: dict[str, object] = (
        {"note_errors": refused.errors, "note_body": shown.get("body", "")}
        if form == "note"
        else {"task_errors": refused.errors, "task_values": shown}
    )
    if form != "note":  # the participants chosen so far, by name
        async with tenant_transaction(current.tenant_id, current.user_id):
            chosen = chosen_ids(shown.get("participant_ids"))
            extra["contacts"] = await notes.contact_choices(chosen)
    return await RECORD_PAGES[subject_type](request, current, subject_id, extra)


async def read_record_form(
    request: Req, current: Current, subject_type: str, subject_id: UUID, schema: type[F], form: str
) -> F:
    """The `form` ("note" or "task") posted on a record (404: no such kind of record); when it
    is refused, the record's page shows it again with its messages."""
    if subject_type not in notes.SUBJECTS:
        raise RecordNotFound(subject_type)
    page = partial(_record_page, request, current, subject_type, subject_id, form)
    return await read_form(request, schema, page=page)


@post("/records/{subject_type:str}/{subject_id:uuid}/notes")
async def note_create(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    form = await read_record_form(request, current, subject_type, subject_id, NoteForm, "note")
    await notes.add_note(current, subject_type, subject_id, form.body)
    get_session(request).flash("success", "Note added.")
    return redirect(request, notes.subject_link(subject_type, subject_id))


@post("/notes/{note_id:uuid}/delete")
async def note_delete(request: Req, current: Current, note_id: UUID) -> Response[str]:
    subject_type, subject_id = await notes.delete_note(current, note_id)
    get_session(request).flash("info", "Note deleted.")
    return redirect(request, notes.subject_link(subject_type, subject_id))


@get("/records/{subject_type:str}/{subject_id:uuid}/timeline")
async def timeline_older(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    """A record's timeline entries older than `?before=` (the "Show older" item's answer: the
    entries in its place for htmx, a page of them without); a broken cursor: the latest."""
    cursor = read_query(request, TimelineQuery).before
    key = decode_cursor(cursor, NEWEST_FIRST) if cursor else None
    when, entry = key if key else (None, None)
    before = (when, entry) if isinstance(when, datetime) and isinstance(entry, UUID) else None
    async with tenant_transaction(current.tenant_id, current.user_id):
        name = await notes.subject_name(subject_type, subject_id)  # 404: not this workspace's
        page = await timeline_page(subject_type, subject_id, before)
    ctx = {"page": page, "name": name, "link": notes.subject_link(subject_type, subject_id)}
    return render(request, "crm/timeline.html", ctx, block="entries")


ROUTES = [note_create, note_delete, timeline_older]
