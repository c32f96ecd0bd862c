"""Notes on contacts, companies and deals (activities: app/crm/activities.py); @mentions
notify people.

Note bodies are stored encrypted (notes.body_enc, app/crm/secure.py): mentions are read from the
plaintext before it is sealed, and the mention notification names the record, not the note.
"""

from __future__ import annotations

import re
import uuid
from uuid import UUID

from app.accounts.schemas import Current
from app.core.clock import user_zone
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, RecordNotFound
from app.crm.activity import record_activity
from app.crm.common import Person, conn, members
from app.crm.schemas import OUTCOMES, ActivityForm, TaskForm
from app.crm.secure import open_note, seal_note
from app.notifications.services import notify

# subject type -> (table, SQL for its display name, URL prefix)
SUBJECTS: dict[str, tuple[str, str, str]] = {
    "contact": ("contacts", "trim(first_name || ' ' || last_name)", "/contacts/"),
    "company": ("companies", "name", "/companies/"),
    "deal": ("deals", "title", "/deals/"),
}


async def subject_name(subject_type: str, subject_id: UUID) -> str:
    """The display name of a record in the current tenant; RecordNotFound otherwise."""
    if subject_type not in SUBJECTS:
        raise RecordNotFound(subject_type)
    table, name_sql, _ = SUBJECTS[subject_type]
    name = await conn().fetchval(f"select {name_sql} from {table} where id = $1", subject_id)
    if name is None:
        raise RecordNotFound(subject_type)
    return str(name) or "(no name)"


# every record type with a timeline (activity.SUBJECT_TYPES): invoices have no notes
LINKS = {kind: prefix for kind, (_, _, prefix) in SUBJECTS.items()} | {"invoice": "/invoices/"}


def subject_link(subject_type: str, subject_id: UUID) -> str:
    return f"{LINKS[subject_type]}{subject_id}"


def mentioned(body: str, people: list[Person]) -> list[Person]:
    """Members named in `body` as @email, @"Full Name" / @Full Name, or @FirstName."""
    text = body.lower()
    found: list[Person] = []
    for person in people:
        name = person.name.lower().strip()
        candidates = [person.email.lower(), name, name.replace(" ", "")]
        if name:
            candidates.append(name.split()[0])
        for candidate in candidates:
            if candidate and re.search(
                r"(?<![\w@.])@\"?" + re.escape(candidate) + r"(?![\w@-])", text
            ):
                found.append(person)
                break
    return found


async def add_note(current: Current, subject_type: str, subject_id: UUID, body: str) -> UUID:
    """Add a note (`body`: read by NoteForm); members mentioned with @ get a notification."""
    note_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        name = await subject_name(subject_type, subject_id)
        # parsed from the plaintext, before sealing; without an "@" nobody can be mentioned,
        # so the members aren't read
        people = mentioned(body, await members()) if "@" in body else []
        await c.execute(
            "insert into notes (id, tenant_id, subject_type, subject_id, author_id, body_enc)"
            " values ($1, $2, $3, $4, $5, $6)",
            note_id,
            current.tenant_id,
            subject_type,
            subject_id,
            current.user_id,
            seal_note(body, current.tenant_id, note_id),
        )
        await record_activity(
            current.tenant_id, current.user_id, subject_type, subject_id, "note", "added a note"
        )
        for person in people:
            if person.user_id == current.user_id:
                continue
            await notify(
                current.tenant_id,
                person.user_id,
                "mention",
                f"{current.name} mentioned you on {name}",
                "Open the record to read the note.",  # notifications aren't encrypted: no body
                subject_link(subject_type, subject_id),
            )
    return note_id


async def delete_note(current: Current, note_id: UUID) -> tuple[str, UUID]:
    """Delete a note (its author or an admin); returns its subject."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "select subject_type, subject_id, author_id from notes where id = $1", note_id
        )
        if row is None:
            raise RecordNotFound("note")
        if row["author_id"] != current.user_id and not current.is_admin:
            raise Forbidden("Only the author or an admin can delete this note.")
        await c.execute("delete from notes where id = $1", note_id)
        await record_activity(
            current.tenant_id,
            current.user_id,
            row["subject_type"],
            row["subject_id"],
            "note",
            "deleted a note",
        )
    return str(row["subject_type"]), row["subject_id"]


async def add_task(current: Current, subject_type: str, subject_id: UUID, form: TaskForm) -> UUID:
    """Add a to-do (the seed's and older callers' form); see activities.add_activity."""
    from app.crm.activities import add_activity

    activity = ActivityForm(title=form.title, due_date=form.due_date, assignee_id=form.assignee_id)
    return await add_activity(current, subject_type, subject_id, activity)


async def record_notes(subject_type: str, subject_id: UUID) -> list[dict[str, object]]:
    """A record's notes, newest first, inside a tenant transaction."""
    notes = await conn().fetch(
        "select n.id, n.tenant_id, n.body_enc, n.created_at, n.author_id,"
        " coalesce(u.name, 'Someone') as author"
        " from notes n left join users u on u.id = n.author_id"
        " where n.subject_type = $1 and n.subject_id = $2 order by n.created_at desc limit 200",
        subject_type,
        subject_id,
    )
    return [open_note(n) for n in notes]


async def contact_choices(ids: list[UUID]) -> list[tuple[UUID, str]]:
    """(id, name) of the contacts `ids`, an activity's participants as its form shows them
    chosen (the picker searches the rest on the server, app/search: no first-500 list)."""
    rows = await conn().fetch(
        "select id, trim(first_name || ' ' || last_name) as name from contacts"
        " where id = any($1::uuid[]) order by lower(last_name), lower(first_name), id",
        ids,
    )
    return [(r["id"], r["name"] or "(no name)") for r in rows]


async def subject_panel(current: Current, subject_type: str, subject_id: UUID) -> dict[str, object]:
    """Notes, activities, timeline, members and contacts for a record's detail page (one
    transaction)."""
    from app.crm.activities import record_panel
    from app.crm.activity import timeline_page

    async with tenant_transaction(current.tenant_id, current.user_id):
        panel: dict[str, object] = {"notes": await record_notes(subject_type, subject_id)}
        panel["tasks"] = await record_panel(subject_type, subject_id)
        panel["timeline"] = await timeline_page(subject_type, subject_id)
        panel["members"] = await members()
        panel["contacts"] = []  # a new activity's participants: none chosen yet
    panel["zone"] = user_zone(current)
    panel["outcomes"] = OUTCOMES
    panel["subject_type"] = subject_type
    panel["subject_id"] = subject_id
    return panel
