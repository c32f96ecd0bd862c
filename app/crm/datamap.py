"""Where the CRM keeps personal data: contacts, companies, notes, tasks, the timeline, imports.

The export files here are written for people: names beside ids, lists as ``a; b``, times in
UTC as ``YYYY-MM-DD HH:MM:SS``, no internal columns. contacts.csv and companies.csv use the
column names the CSV import recognises, so an export can be imported again.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from app.core.datamap import ExportFile as File
from app.core.datamap import (
    Place,
    Subject,
    col,
    data_dir,
    joined,
    register,
    table_place,
    utc,
)
from app.core.db import tenant_transaction
from app.crm import forget
from app.crm.notes import SUBJECTS
from app.crm.secure import open_contact, open_note
from app.settings import get_settings

OWNER = "crm"
RETENTION = "until deleted by the workspace, or with it"


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


def _open_contact_row(row: dict[str, Any]) -> dict[str, Any]:
    opened = open_contact(
        {
            "id": row["_id"],
            "tenant_id": row["_tenant"],
            "emails_enc": row["_emails"],
            "phones_enc": row["_phones"],
        }
    )
    row["Emails"] = "; ".join(opened["emails"])
    row["Phones"] = "; ".join(opened["phones"])
    return row


def _open_note_row(row: dict[str, Any]) -> dict[str, Any]:
    opened = open_note({"id": row["_id"], "tenant_id": row["_tenant"], "body_enc": row["_body"]})
    row["Note"] = opened["body"]
    return row


CREATED = col("Created (UTC)", "When the record was created.")
UPDATED = col("Updated (UTC)", "When it last changed.")
OWNER_COL = col("Owner", "The member responsible for it (empty: nobody, or a former member).")

CONTACTS_FILE = File(
    "contacts.csv",
    "People: one row per contact. Import it again as contacts (the columns are recognised).",
    'select c.first_name as "First name", c.last_name as "Last name",'
    ' null::text as "Emails", null::text as "Phones", c.title as "Job title",'
    ' co.name as "Company", u.name as "Owner",'
    f' {joined("c.tags")} as "Tags", {utc("c.created_at")} as "Created (UTC)",'
    f' {utc("c.updated_at")} as "Updated (UTC)", c.id as "Contact id",'
    ' c.company_id as "Company id", c.id as "_id", c.tenant_id as "_tenant",'
    ' c.emails_enc as "_emails", c.phones_enc as "_phones"'
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
        col("Company id", "Odex's identifier of the company."),
    ),
    own_where="c.owner_id = $1",
    order_by="c.sort_last, c.sort_first, c.id",
    opener=_open_contact_row,
)

COMPANIES_FILE = File(
    "companies.csv",
    "Companies. Import it again as companies (the columns are recognised).",
    'select c.name as "Name", c.domain as "Domain", c.industry as "Industry",'
    ' c.size as "Size", c.address as "Address", u.name as "Owner",'
    f' {utc("c.created_at")} as "Created (UTC)", {utc("c.updated_at")} as "Updated (UTC)",'
    ' c.id as "Company id" from companies c left join users u on u.id = c.owner_id'
    " where {where}",
    (
        col("Name", "The company's name."),
        col("Domain", "Its web domain."),
        col("Industry", "Its sector."),
        col("Size", "Its size (employees)."),
        col("Address", "Its address."),
        OWNER_COL,
        CREATED,
        UPDATED,
        col("Company id", "Odex's identifier of the company."),
    ),
    own_where="c.owner_id = $1",
    order_by="c.sort_name, c.id",
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
    opener=_open_note_row,
)

TASKS_FILE = File(
    "tasks.csv",
    "Tasks on contacts, companies and deals.",
    f'select t.subject_type as "Record type", {record_name("t.subject_type", "t.subject_id")}'
    ' as "Record", t.title as "Task", t.due_date as "Due", a.name as "Assigned to",'
    f' c.name as "Created by", {utc("t.done_at")} as "Done (UTC)",'
    f' {utc("t.created_at")} as "Created (UTC)", t.id as "Task id"'
    " from tasks t left join users a on a.id = t.assignee_id"
    " left join users c on c.id = t.created_by where {where}",
    (
        RECORD_TYPE,
        RECORD,
        col("Task", "What needs doing."),
        col("Due", "The due date (YYYY-MM-DD)."),
        col("Assigned to", "Who should do it."),
        col("Created by", "Who added it."),
        col("Done (UTC)", "When it was completed (empty: open)."),
        CREATED,
        col("Task id", "Odex's identifier of the task."),
    ),
    own_where="(t.created_by = $1 or t.assignee_id = $1)",
    order_by="t.created_at, t.id",
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


async def _purge_uploads(tenant_id: UUID) -> int:
    folder = data_dir() / "imports" / str(tenant_id)
    count = len(list(folder.iterdir())) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


async def _expire_uploads() -> int:
    """Uploads of finished imports, of imports gone, and never imported after
    CRM_UPLOAD_KEEP_HOURS (that import is marked failed, saying why)."""
    root = data_dir() / "imports"
    if not root.exists():
        return 0
    limit = datetime.now(UTC) - timedelta(hours=get_settings().crm_upload_keep_hours)
    removed = 0
    for folder in (p for p in root.iterdir() if p.is_dir()):
        try:
            tenant_id = UUID(folder.name)
        except ValueError:
            continue
        async with tenant_transaction(tenant_id) as conn:
            rows = {
                str(r["id"]): r
                for r in await conn.fetch("select id, status, updated_at from crm_imports")
            }
            for path in folder.iterdir():
                row = rows.get(path.stem)
                idle = row is not None and row["status"] in ("uploaded", "failed")
                if row is None or row["status"] == "done" or (idle and row["updated_at"] < limit):
                    path.unlink(missing_ok=True)
                    removed += 1
                    if row is not None and row["status"] == "uploaded":
                        await conn.execute(
                            "update crm_imports set status = 'failed', error = $2,"
                            " updated_at = now() where id = $1",
                            row["id"],
                            "The upload was never imported, so it was deleted after"
                            f" {get_settings().crm_upload_keep_hours} hours. Upload it again.",
                        )
    return removed


async def _scan_uploads(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []  # uploads hold the workspace's contacts, not its members
    folder = data_dir() / "imports" / str(subject.workspace_id)
    return [f"{len(list(folder.iterdir()))} uploaded files"] if folder.exists() else []


def _register() -> None:
    not_exported_to_me = "not in My data (the workspace's record)"
    register(
        table_place(
            "contacts",
            OWNER,
            holds=("contact",),
            what="names, job title, tags, email addresses and phone numbers (AES-256-GCM,"
            " bound to the row) with their keyed-hash search indexes",
            access=not_exported_to_me,
            export="contacts.csv (admins: all; members: the ones they own)",
            erasure="deleted",
            account_deletion="the owner is cleared where it was the person",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("owner_id",),
            exports=(CONTACTS_FILE,),
            identify=forget.identify_contact,
            erase=forget.erase_contact_row,
            order=990,
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "companies",
            OWNER,
            holds=("workspace",),
            what="company names, domains, addresses, the owning member",
            access=not_exported_to_me,
            export="companies.csv (admins: all; members: the ones they own)",
            erasure="not affected (companies are not people)",
            account_deletion="the owner is cleared where it was the person",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("owner_id",),
            exports=(COMPANIES_FILE,),
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "notes",
            OWNER,
            holds=("contact", "user"),
            what="free text about people (AES-256-GCM, bound to the row), the author",
            access=not_exported_to_me,
            export="notes.csv (admins: all; members: the ones they wrote)",
            erasure="notes about the contact are deleted; in other notes the contact's"
            " @mentions, name, addresses and numbers are replaced by [erased]",
            account_deletion="the author is cleared; the person's addresses and @mentions in"
            " notes are replaced by [erased]",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("author_id",),
            exports=(NOTES_FILE,),
            erase=forget.erase_notes,
            forget_user=forget.forget_member_in_notes,
            scan=forget.scan_notes,
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "tasks",
            OWNER,
            holds=("contact", "user"),
            what="task titles about records, assignee and creator",
            access=not_exported_to_me,
            export="tasks.csv (admins: all; members: those they created or were given)",
            erasure="tasks on the contact are deleted",
            account_deletion="assignee and creator are cleared where they were the person",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("assignee_id", "created_by"),
            exports=(TASKS_FILE,),
            erase=forget.erase_tasks,
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "activities",
            OWNER,
            holds=("contact", "user"),
            what="the timeline: who changed which record, a summary and the changed fields",
            access=not_exported_to_me,
            export="timeline.csv (admins: all; members: their own actions)",
            erasure="the contact's entries keep who/what/when; text and diffs become"
            " '[erased on request]'",
            account_deletion="the actor is cleared; the person's name and id in diffs become"
            " 'a former member'",
            workspace_purge="deleted with the workspace (append-only: cascade)",
            tenant_scoped=True,
            user_columns=("actor_id",),
            text_columns=("summary", "changes"),
            exports=(TIMELINE_FILE,),
            erase=forget.erase_timeline,
            forget_user=forget.forget_member_in_timeline,
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "crm_imports",
            OWNER,
            holds=("workspace", "user"),
            what="an upload's file name, column names and counts; who uploaded it",
            access="not shown (the workspace's imports page)",
            export="not exported",
            erasure="an import whose uploaded file held the contact is marked failed (the file"
            " goes)",
            account_deletion="the uploader is cleared",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("user_id",),
            retention=RETENTION,
        )
    )
    register(
        table_place(
            "crm_import_errors",
            OWNER,
            holds=("contact",),
            what="the cells of CSV rows that failed to import (AES-256-GCM, bound to the row)",
            access="not shown (the import's error report, to the workspace)",
            export="not exported (the import's error report downloads them)",
            erasure="rows holding the contact's address, number or name are deleted",
            account_deletion="not affected",
            workspace_purge="deleted",
            tenant_scoped=True,
            erase=forget.erase_import_errors,
            retention=RETENTION,
        )
    )
    register(
        Place(
            "file:imports",
            "file",
            OWNER,
            ("contact", "workspace"),
            "uploaded CSV files in the clear (names, emails, phones of the people in them)",
            retention="until the import finishes (done or failed on the file); files of"
            " imports never started are deleted after CRM_UPLOAD_KEEP_HOURS (24)",
            access="not shown",
            export="not exported",
            erasure="uploaded CSV files that still hold the contact are deleted and their"
            " import marked failed",
            account_deletion="not affected (they hold the workspace's contacts)",
            workspace_purge="the workspace's folder is deleted",
            pattern="imports/*/*",
            erase=forget.erase_import_files,
            purge=_purge_uploads,
            scan=_scan_uploads,
            expire=_expire_uploads,
        )
    )


_register()
