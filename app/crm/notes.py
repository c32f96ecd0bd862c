"""Notes and tasks on contacts, companies and deals; @mentions and assignments notify people.

Note bodies are stored encrypted (notes.body_enc, app/crm/secure.py): mentions are read from the
plaintext before it is sealed, and the mention notification names the record, not the note.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core import formats
from app.core.db import tenant_transaction
from app.core.errors import Forbidden, RecordNotFound
from app.crm.activity import record_activity
from app.crm.common import Person, check_member, conn, members
from app.crm.schemas import TaskForm
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
        people = mentioned(body, await members())  # parsed from the plaintext, before sealing
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
    """Add a task; the assignee (when not the creator) gets a "task_assigned" notification."""
    title, due, assignee = form.title, form.due_date, form.assignee_id
    task_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        name = await subject_name(subject_type, subject_id)
        await check_member(assignee, "assignee_id", "someone")
        await c.execute(
            "insert into tasks (id, tenant_id, subject_type, subject_id, title, due_date,"
            " assignee_id, created_by) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            task_id,
            current.tenant_id,
            subject_type,
            subject_id,
            title,
            due,
            assignee,
            current.user_id,
        )
        await record_activity(
            current.tenant_id,
            current.user_id,
            subject_type,
            subject_id,
            "task",
            f"added the task “{title}”",
        )
        if assignee is not None and assignee != current.user_id:
            when = f" (due {due.isoformat()})" if due else ""
            await notify(
                current.tenant_id,
                assignee,
                "task_assigned",
                f"{current.name} assigned you a task on {name}",
                f"{title}{when}",
                subject_link(subject_type, subject_id),
            )
    return task_id


async def set_task_done(current: Current, task_id: UUID, done: bool) -> dict[str, Any]:
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "update tasks set done_at = case when $2 then coalesce(done_at, now()) end,"
            " updated_at = now() where id = $1 returning *",
            task_id,
            done,
        )
        if row is None:
            raise RecordNotFound("task")
        await record_activity(
            current.tenant_id,
            current.user_id,
            row["subject_type"],
            row["subject_id"],
            "task",
            f"{'completed' if done else 'reopened'} the task “{row['title']}”",
        )
    return dict(row)


async def delete_task(current: Current, task_id: UUID) -> tuple[str, UUID]:
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow("delete from tasks where id = $1 returning *", task_id)
        if row is None:
            raise RecordNotFound("task")
    return str(row["subject_type"]), row["subject_id"]


async def notes_and_tasks(subject_type: str, subject_id: UUID) -> dict[str, Any]:
    """Notes (newest first) and tasks (open first, by due date) inside a tenant transaction."""
    c = conn()
    notes = await c.fetch(
        "select n.id, n.tenant_id, n.body_enc, n.created_at, n.author_id,"
        " coalesce(u.name, 'Someone') as author"
        " from notes n left join users u on u.id = n.author_id"
        " where n.subject_type = $1 and n.subject_id = $2 order by n.created_at desc limit 200",
        subject_type,
        subject_id,
    )
    tasks = await c.fetch(
        "select t.*, u.name as assignee_name from tasks t left join users u on u.id = t.assignee_id"
        " where t.subject_type = $1 and t.subject_id = $2"
        " order by t.done_at is not null, t.due_date nulls last, t.created_at limit 200",
        subject_type,
        subject_id,
    )
    return {"notes": [open_note(n) for n in notes], "tasks": [dict(t) for t in tasks]}


async def my_open_tasks(current: Current, limit: int = 200) -> list[dict[str, Any]]:
    """Open tasks assigned to the current user, soonest due first, with their record's name."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select t.*, coalesce(nullif(trim(ct.first_name || ' ' || ct.last_name), ''),"
            " co.name, d.title, initcap(t.subject_type)) as subject_name from tasks t"
            " left join contacts ct on t.subject_type = 'contact' and ct.id = t.subject_id"
            " left join companies co on t.subject_type = 'company' and co.id = t.subject_id"
            " left join deals d on t.subject_type = 'deal' and d.id = t.subject_id"
            " where t.tenant_id = $1 and t.assignee_id = $2 and t.done_at is null"
            " order by t.due_date nulls last, t.id limit $3",
            current.tenant_id,
            current.user_id,
            limit,
        )
    today = formats.today()  # the reader's today (their time zone)
    return [
        {
            **dict(r),
            "link": subject_link(r["subject_type"], r["subject_id"]),
            "overdue": r["due_date"] is not None and r["due_date"] < today,
        }
        for r in rows
    ]


async def subject_panel(current: Current, subject_type: str, subject_id: UUID) -> dict[str, Any]:
    """Notes, tasks, timeline and members for a record's detail page (one transaction)."""
    from app.crm.activity import timeline

    async with tenant_transaction(current.tenant_id, current.user_id):
        panel = await notes_and_tasks(subject_type, subject_id)
        panel["timeline"] = await timeline(subject_type, subject_id)
        panel["members"] = await members()
    panel["subject_type"] = subject_type
    panel["subject_id"] = subject_id
    return panel
