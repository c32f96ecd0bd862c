"""/api/v1/notes and /api/v1/tasks (calls, meetings, emails, to-dos): the CRM's note and
activity services behind them (timeline entries; mentions and assignments notified)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import delete, post

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.conformance import bind
from app.api.listing import form_source as source
from app.api.listing import sent_fields
from app.api.resource import Resource, Values
from app.api.schemas import NoteIn, NoteOut, TaskIn, TaskOut
from app.core.clock import user_zone, zone_info
from app.core.errors import FormInvalid
from app.core.forms import Choice, Form, Ref, parse
from app.crm import activities, notes
from app.crm.schemas import SUBJECT_TYPES, ActivityEdit, ActivityForm, NoteForm
from app.crm.secure import open_activity_notes, open_note


class SubjectForm(Form):
    """What a new note or task is on (its rules are the API body's: app/api/conformance)."""

    subject_type: Annotated[
        str, Choice("the record type", SUBJECT_TYPES, message="Name a contact, company or deal.")
    ]
    subject_id: Annotated[UUID, Ref("Name the record the activity is on.", required=True)]


def _subject(subject_type: object) -> str:
    if subject_type not in SUBJECT_TYPES:
        raise FormInvalid({"subject_type": "Name a contact, company or deal."})
    return str(subject_type)


# ---- notes -------------------------------------------------------------------------------


@post("/notes", opt=needs("notes", "write"))
async def create_note(current: Current, data: NoteIn) -> NoteOut:
    """A note on a contact, company or deal (members @mentioned are notified)."""
    form = parse(NoteForm, {"body": data.body})
    note_id = await notes.add_note(current, _subject(data.subject_type), data.subject_id, form.body)
    return await NOTES.read(current, note_id)


@delete("/notes/{note_id:uuid}", opt=needs("notes", "write"))
async def delete_note(current: Current, note_id: UUID) -> None:
    """Delete a note (its author, or an admin)."""
    await notes.delete_note(current, note_id)


NOTES: Resource[NoteOut, Form, Form] = Resource(
    name="notes",
    one="note",
    search="r.subject_type",  # the record kind only: bodies are encrypted
    owner="r.author_id",
    columns={"body": "r.body_enc"},
    out=NoteOut,
    opened=open_note,
    about="Notes (owner: the author; updated_since), sorted, paged.",
    extra=(create_note, delete_note),
)


# ---- tasks -------------------------------------------------------------------------------


def _task(row: dict[str, Any]) -> dict[str, Any]:
    row["notes"] = open_activity_notes(row.pop("notes_enc"), row["tenant_id"], row["id"])
    return row


def _local(current: Current, values: Values) -> Values:
    """`due_at` as the wall-clock time the activity form reads (the member's time zone);
    a time sent without an offset is UTC."""
    due_at = values.get("due_at")
    if isinstance(due_at, datetime):
        aware = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
        local = aware.astimezone(zone_info(user_zone(current))).replace(tzinfo=None)
        values["due_at"] = local.strftime("%Y-%m-%dT%H:%M")
    return values


@post("/tasks", opt=needs("tasks", "write"))
async def create_task(current: Current, data: TaskIn) -> TaskOut:
    """Plan or log an activity on a contact, company or deal."""
    subject = _subject(data.subject_type)
    if not isinstance(data.subject_id, UUID):
        raise FormInvalid({"subject_id": "Name the record the activity is on."})
    form = parse(ActivityForm, source(_local(current, sent_fields(data))))
    task_id = await activities.add_activity(current, subject, data.subject_id, form)
    return await TASKS.read(current, task_id)


TASKS: Resource[TaskOut, Form, ActivityEdit] = Resource(
    name="tasks",
    one="task",
    search="r.title",
    owner="r.assignee_id",
    columns={"notes": "r.notes_enc", "done": "r.done_at is not null as done"},
    out=TaskOut,
    body=TaskIn,
    fields=TaskIn.__struct_fields__[2:12],  # subject_type and subject_id: on create only
    update=(ActivityEdit, activities.edit_activity),
    delete=activities.delete_activity,
    opened=_task,
    local=_local,
    about="Tasks and other activities (q: subject; owner: the assignee; updated_since), paged.",
    extra=(create_task,),
)

bind(NoteIn, SubjectForm, NoteForm)
bind(TaskIn, SubjectForm, create=(SubjectForm, ActivityForm))
ROUTES = [*NOTES.routes(), *TASKS.routes()]
