"""Where attachments keep personal data: the attachments table and the encrypted files under
``attachments/<tenant id>/`` in the data dir (their thumbnails too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.attachments import queries, services, store
from app.core.crypto import all_tenant_ids
from app.core.datamap import (
    ContactRef,
    ExportFile,
    Place,
    Subject,
    col,
    register,
    tenant_table,
    utc,
)
from app.core.db import tenant_transaction

OWNER = "attachments"
RETENTION = "while the record it is attached to exists (deleted with it at the next daily sweep)"
SCRATCH_HOURS = 6  # an upload's plaintext left by a crash is older than any request

ATTACHMENTS_FILE = ExportFile(
    "attachments.csv",
    "Files attached to contacts, companies, deals and invoices (the files are in attachments/).",
    f'select {utc("a.created_at")} as "Attached (UTC)", a.subject_type as "Record type",'
    ' a.subject_id as "Record id", a.file_name as "File name", a.content_type as "Type",'
    ' a.size_bytes as "Bytes", a.sha256 as "SHA-256", coalesce(u.name, \'\') as "Attached by",'
    " 'attachments/' || a.subject_type || '/' || a.id || '-' || replace(a.file_name, '/', '_')"
    ' as "Path in this export", a.id as "Attachment id"'
    " from attachments a left join users u on u.id = a.uploaded_by where {where}",
    (
        col("Attached (UTC)", "When the file was attached."),
        col("Record type", "contact, company, deal or invoice."),
        col("Record id", "Odex's identifier of the record."),
        col("File name", "The name it was uploaded with."),
        col("Type", "What the file is, read from its bytes."),
        col("Bytes", "Its size."),
        col("SHA-256", "A checksum of its bytes."),
        col("Attached by", "Who attached it (empty: a former member)."),
        col("Path in this export", "Where the file is in this zip."),
        col("Attachment id", "Odex's identifier of the file."),
    ),
    own_where="a.uploaded_by = $1",
    order_by="a.created_at, a.id",
)


async def _erase(contact: ContactRef) -> int:
    return await services.erase_contact_files(contact.tenant_id, contact.contact_id)


async def _scan(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []  # files belong to the workspace's records, not to its members
    names = store.stored_names(subject.workspace_id)
    return [f"{len(names)} attached files"] if names else []


async def _expire() -> int:
    """The daily sweep: files of records that are gone (row and bytes), stored files without
    a row, and upload scratch files a crash left behind."""
    removed = 0
    limit = (datetime.now(UTC) - timedelta(hours=SCRATCH_HOURS)).timestamp()
    for tenant_id in await all_tenant_ids():
        async with tenant_transaction(tenant_id) as conn:
            orphans = await queries.delete_orphans(conn)
            known = await queries.ids_in_workspace(conn)
        for attachment_id in orphans:
            store.remove(tenant_id, attachment_id)
        removed += len(orphans)
        removed += store.remove_unknown(tenant_id, known, limit)
    return removed + store.remove_scratch_before(limit)


def _register() -> None:
    register(
        tenant_table(
            "attachments",
            OWNER,
            ("contact", "workspace", "user"),
            "what files are attached to which record: file name, type, size, checksum, who"
            " attached it",
            access="not in My data (the workspace's records; each record's page lists them)",
            export="attachments.csv and the files (admins: all; members: those they attached)",
            erasure="the files attached to the contact are deleted (row and bytes)",
            account_deletion="the uploader is cleared",
            user_columns=("uploaded_by",),
            exports=(ATTACHMENTS_FILE,),
            retention=RETENTION,
        )
    )
    register(
        Place(
            "file:attachments",
            "file",
            OWNER,
            ("contact", "workspace"),
            "attached files and their thumbnails, AES-256-GCM encrypted with FIELD_KEYS and"
            " bound to the workspace, the attachment and the part; uploads being received"
            " (plaintext, for the length of the request)",
            retention=RETENTION,
            access="not shown (downloaded from the record's page)",
            export="in the export zip under attachments/ (admins: all; members: those they"
            " attached)",
            erasure="the files attached to the contact are deleted",
            account_deletion="not affected (they belong to the workspace's records)",
            workspace_purge="the workspace's folder is deleted",
            pattern="attachments/*/*",
            also=("attachments/.incoming/*/*",),
            export_files=services.write_export,
            erase=_erase,
            purge=services.purge_workspace_files,
            scan=_scan,
            expire=_expire,
        )
    )


_register()
