"""The CRM's export files, written for people: names beside ids, lists as ``a; b``, times in
UTC as ``YYYY-MM-DD HH:MM:SS``, no internal columns. contacts.csv and companies.csv use the
column names the CSV import recognises, so an export can be imported again; the workspace's
custom fields follow as columns named by their labels (written by app/privacy/export_files.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.core.datamap import ExportFile as File
from app.core.datamap import SealedList, col, joined, utc
from app.crm.notes import SUBJECTS
from app.crm.secure import open_activity_notes, open_note


def record_name(type_col: str, id_col: str) -> str:
    """SQL naming the record a note, task or timeline entry is about."""
    cases = " ".join(
        f"when '{kind}' then (select {name_sql} from {table} where id = {id_col})"
        for kind, (table, name_sql, _) in SUBJECTS.items()
    )
    return (
        f"case {type_col} {cases} when 'invoice' then (select 'Invoice ' || number::text"
        f" from invoices where id = {id_col}) end"
    )


def _open_note_rows(records: Sequence[Mapping[str, Any]]) -> dict[str, list[object]]:
    return {
        "Note": [
            open_note({"id": r["_id"], "tenant_id": r["_tenant"], "body_enc": r["_body"]})["body"]
            for r in records
        ]
    }


CREATED = col("Created (UTC)", "When the record was created.")
UPDATED = col("Updated (UTC)", "When it last changed.")
OWNER_COL = col("Owner", "The member responsible for it (empty: nobody, or a former member).")
COMPANY_ID = col("Company id", "Odex's identifier of the company.")  # contacts.csv, companies.csv

CONTACTS_FILE = File(
    "contacts.csv",
    "People: one row per contact. Import it again as contacts (the columns are recognised).",
    'select c.first_name as "First name", c.last_name as "Last name",'
    ' null::text as "Emails", null::text as "Phones", c.title as "Job title",'
    ' co.name as "Company", u.name as "Owner",'
    f' {joined("c.tags")} as "Tags", {utc("c.created_at")} as "Created (UTC)",'
    f' {utc("c.updated_at")} as "Updated (UTC)", c.id as "Contact id",'
    ' c.company_id as "Company id", c.id as "_id", c.tenant_id as "_tenant",'
    ' c.emails_enc as "_emails", c.phones_enc as "_phones", c.custom_values::text as "_custom"'
    " from contacts c left join companies co on co.id = c.company_id"
    " left join users u on u.id = c.owner_id where {where}",
    (
        col("First name", "Given name."),
        col("Last name", "Family name."),
        col("Emails", "Email addresses, separated by '; ' (stored encrypted, decrypted here)."),
        col("Phones", "Phone numbers, separated by '; ' (stored encrypted, decrypted here)."),
        col("Job title", "Their position."),
        col("Company", "The company's name (see companies.csv)."),
        OWNER_COL,
        col("Tags", "Labels, separated by '; '."),
        CREATED,
        UPDATED,
        col("Contact id", "Odex's identifier of the contact (notes and tasks refer to it)."),
        COMPANY_ID,
    ),
    own_where="c.owner_id = $1",
    order_by="c.sort_last, c.sort_first, c.id",
    custom_kind="contact",
    sealed=(  # decrypted by the export (bound to the contact's row and workspace)
        SealedList("Emails", "_emails", "contacts", "emails_enc"),
        SealedList("Phones", "_phones", "contacts", "phones_enc"),
    ),
)

COMPANIES_FILE = File(
    "companies.csv",
    "Companies. Import it again as companies (the columns are recognised).",
    'select c.name as "Name", c.domain as "Domain", c.industry as "Industry",'
    ' c.size as "Size", c.address as "Address", u.name as "Owner",'
    f' {utc("c.created_at")} as "Created (UTC)", {utc("c.updated_at")} as "Updated (UTC)",'
    ' c.id as "Company id", c.custom_values::text as "_custom"'
    " from companies c left join users u on u.id = c.owner_id where {where}",
    (
        col("Name", "The company's name."),
        col("Domain", "Its web domain."),
        col("Industry", "Its sector."),
        col("Size", "Its size (employees)."),
        col("Address", "Its address."),
        OWNER_COL,
        CREATED,
        UPDATED,
        COMPANY_ID,
    ),
    own_where="c.owner_id = $1",
    order_by="c.sort_name, c.id",
    custom_kind="company",
)

RECORD_TYPE = col("Record type", "contact, company, deal (or invoice for the timeline).")
RECORD = col("Record", "The name of the record it is about.")

NOTES_FILE = File(
    "notes.csv",
    "Notes on contacts, companies and deals.",
    f'select n.subject_type as "Record type", {record_name("n.subject_type", "n.subject_id")}'
    ' as "Record", coalesce(u.name, \'\') as "Author", null::text as "Note",'
    f' {utc("n.created_at")} as "Created (UTC)", {utc("n.updated_at")} as "Updated (UTC)",'
    ' n.id as "Note id", n.subject_id as "Record id", n.id as "_id",'
    ' n.tenant_id as "_tenant", n.body_enc as "_body"'
    " from notes n left join users u on u.id = n.author_id where {where}",
    (
        RECORD_TYPE,
        RECORD,
        col("Author", "Who wrote it (empty: a former member)."),
        col("Note", "The text (stored encrypted, decrypted here)."),
        CREATED,
        UPDATED,
        col("Note id", "Odex's identifier of the note."),
        col("Record id", "Odex's identifier of the record (see its file)."),
    ),
    own_where="n.author_id = $1",
    order_by="n.created_at, n.id",
    opener=_open_note_rows,
)


def _open_activity_rows(records: Sequence[Mapping[str, Any]]) -> dict[str, list[object]]:
    return {
        "Notes": [open_activity_notes(r["_notes"], r["_tenant"], r["Task id"]) for r in records]
    }


TASKS_FILE = File(
    "tasks.csv",
    "Activities (to-dos, calls, meetings, emails) on contacts, companies and deals.",
    f'select t.subject_type as "Record type", {record_name("t.subject_type", "t.subject_id")}'
    ' as "Record", t.kind as "Kind", t.title as "Task", t.due_date as "Due",'
    f' {utc("t.due_at")} as "When (UTC)", t.duration_minutes as "Minutes",'
    " t.outcome as \"Outcome\", (select string_agg(trim(p.first_name || ' ' || p.last_name),"
    " '; ' order by p.last_name) from contacts p where p.id = any(t.participant_ids))"
    ' as "Participants", null::text as "Notes", a.name as "Assigned to",'
    f' c.name as "Created by", {utc("t.done_at")} as "Done (UTC)",'
    f' {utc("t.created_at")} as "Created (UTC)", t.id as "Task id",'
    ' t.tenant_id as "_tenant", t.notes_enc as "_notes"'
    " from tasks t left join users a on a.id = t.assignee_id"
    " left join users c on c.id = t.created_by where {where}",
    (
        RECORD_TYPE,
        RECORD,
        col("Kind", "task (a to-do), call, meeting or email."),
        col("Task", "What needs doing, or what happened."),
        col("Due", "The due date of a to-do (YYYY-MM-DD)."),
        col("When (UTC)", "The time of a call, meeting or email."),
        col("Minutes", "How long it took."),
        col("Outcome", "connected, no_answer, left_voicemail, held, cancelled, sent, replied."),
        col("Participants", "The contacts who took part."),
        col("Notes", "Notes on it (stored encrypted, decrypted here)."),
        col("Assigned to", "Who should do it."),
        col("Created by", "Who added it."),
        col("Done (UTC)", "When it was completed or logged (empty: open)."),
        CREATED,
        col("Task id", "Odex's identifier of the task."),
    ),
    own_where="(t.created_by = $1 or t.assignee_id = $1)",
    order_by="t.created_at, t.id",
    opener=_open_activity_rows,
)

TIMELINE_FILE = File(
    "timeline.csv",
    "The activity timeline: who changed which record when.",
    f'select {utc("a.created_at")} as "When (UTC)", a.subject_type as "Record type",'
    f' {record_name("a.subject_type", "a.subject_id")} as "Record",'
    ' coalesce(u.name, \'\') as "Who", a.action as "Action", a.summary as "Summary",'
    ' a.changes::text as "Changes", a.subject_id as "Record id"'
    " from activities a left join users u on u.id = a.actor_id where {where}",
    (
        col("When (UTC)", "When it happened."),
        RECORD_TYPE,
        RECORD,
        col("Who", "Who did it (empty: the system or a former member)."),
        col("Action", "created, updated, deleted, moved, note, task…"),
        col("Summary", "What happened, in words."),
        col("Changes", 'Changed fields as JSON: {"field": {"from": old, "to": new}}.'),
        col("Record id", "Odex's identifier of the record."),
    ),
    own_where="a.actor_id = $1",
    order_by="a.created_at, a.id",
)
