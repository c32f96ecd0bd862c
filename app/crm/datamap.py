"""Where the CRM keeps personal data: contacts, companies, notes, tasks, the timeline, imports
(the export's files are in app/crm/export_files.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from uuid import UUID

from piccolo.querystring import QueryString

from app.core.datamap import (
    Place,
    Subject,
    data_dir,
    register,
    tenant_table,
)
from app.core.db import tenant_transaction
from app.crm import forget
from app.crm.export_files import (
    COMPANIES_FILE,
    CONTACTS_FILE,
    NOTES_FILE,
    TASKS_FILE,
    TIMELINE_FILE,
)
from app.crm.tables import CrmImport
from app.settings import get_settings

OWNER = "crm"
RETENTION = "until deleted by the workspace, or with it"


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
        async with tenant_transaction(tenant_id):
            imports = await CrmImport.select(CrmImport.id, CrmImport.status, CrmImport.updated_at)
            rows = {str(r["id"]): r for r in imports}
            for path in folder.iterdir():
                row = rows.get(path.stem)
                idle = row is not None and row["status"] in ("uploaded", "failed")
                if row is None or row["status"] == "done" or (idle and row["updated_at"] < limit):
                    path.unlink(missing_ok=True)
                    removed += 1
                    if row is not None and row["status"] == "uploaded":
                        hours = get_settings().crm_upload_keep_hours
                        await CrmImport.update(
                            {
                                CrmImport.status: "failed",
                                CrmImport.error: "The upload was never imported, so it was"
                                f" deleted after {hours} hours. Upload it again.",
                                CrmImport.updated_at: QueryString("now()"),
                            }
                        ).where(CrmImport.id == row["id"])
    return removed


async def _scan_uploads(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []  # uploads hold the workspace's contacts, not its members
    folder = data_dir() / "imports" / str(subject.workspace_id)
    return [f"{len(list(folder.iterdir()))} uploaded files"] if folder.exists() else []


def _register() -> None:
    not_exported_to_me = "not in My data (the workspace's record)"
    register(
        tenant_table(
            "contacts",
            OWNER,
            ("contact",),
            "names, job title, tags, email addresses and phone numbers (AES-256-GCM,"
            " bound to the row) with their keyed-hash search indexes",
            access=not_exported_to_me,
            export="contacts.csv (admins: all; members: the ones they own)",
            erasure="deleted",
            account_deletion="the owner is cleared where it was the person",
            user_columns=("owner_id",),
            exports=(CONTACTS_FILE,),
            identify=forget.identify_contact,
            erase=forget.erase_contact_row,
            order=990,
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "companies",
            OWNER,
            ("workspace",),
            "company names, domains, addresses, the owning member",
            access=not_exported_to_me,
            export="companies.csv (admins: all; members: the ones they own)",
            erasure="not affected (companies are not people)",
            account_deletion="the owner is cleared where it was the person",
            user_columns=("owner_id",),
            exports=(COMPANIES_FILE,),
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "notes",
            OWNER,
            ("contact", "user"),
            "free text about people (AES-256-GCM, bound to the row), the author",
            access=not_exported_to_me,
            export="notes.csv (admins: all; members: the ones they wrote)",
            erasure="notes about the contact are deleted; in other notes the contact's"
            " @mentions, name, addresses and numbers are replaced by [erased]",
            account_deletion="the author is cleared; the person's addresses and @mentions in"
            " notes are replaced by [erased]",
            user_columns=("author_id",),
            exports=(NOTES_FILE,),
            erase=forget.erase_notes,
            forget_user=forget.forget_member_in_notes,
            scan=forget.scan_notes,
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "tasks",
            OWNER,
            holds=("contact", "user"),
            what="activities on records (to-dos, calls, meetings, emails): subject, time,"
            " outcome, participant contacts, notes (encrypted), assignee and creator",
            access=not_exported_to_me,
            export="tasks.csv (admins: all; members: those they created or were given)",
            erasure="activities on the contact are deleted; the contact is removed from other"
            " activities' participants and blanked in their notes",
            account_deletion="assignee and creator are cleared where they were the person",
            user_columns=("assignee_id", "created_by"),
            exports=(TASKS_FILE,),
            erase=forget.erase_tasks,
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "activities",
            OWNER,
            ("contact", "user"),
            "the timeline: who changed which record, a summary and the changed fields",
            access=not_exported_to_me,
            export="timeline.csv (admins: all; members: their own actions)",
            erasure="the contact's entries keep who/what/when; text and diffs become"
            " '[erased on request]'",
            account_deletion="the actor is cleared; the person's name and id in diffs become"
            " 'a former member'",
            workspace_purge="deleted with the workspace (append-only: cascade)",
            user_columns=("actor_id",),
            text_columns=("summary", "changes"),
            exports=(TIMELINE_FILE,),
            erase=forget.erase_timeline,
            forget_user=forget.forget_member_in_timeline,
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "crm_imports",
            OWNER,
            ("workspace", "user"),
            "an upload's file name, column names and counts; who uploaded it",
            access="not shown (the workspace's imports page)",
            erasure="an import whose uploaded file held the contact is marked failed (the file"
            " goes)",
            account_deletion="the uploader is cleared",
            user_columns=("user_id",),
            retention=RETENTION,
        )
    )
    register(
        tenant_table(
            "crm_import_errors",
            OWNER,
            ("contact",),
            "the cells of CSV rows that failed to import (AES-256-GCM, bound to the row)",
            access="not shown (the import's error report, to the workspace)",
            export="not exported (the import's error report downloads them)",
            erasure="rows holding the contact's address, number or name are deleted",
            account_deletion="not affected",
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
