"""The rules of attachments: who may attach, see and delete files, the plan's limits, the
sniffed type, the timeline entries, and the file-and-row pairs that must go together."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from uuid import UUID

from app.accounts.schemas import Current
from app.attachments import queries, store
from app.attachments.queries import AttachmentRow
from app.attachments.sniff import HEAD_BYTES, THUMBNAIL_TYPES, RefusedFile, sniff
from app.billing.limits import attachment_room
from app.core.crypto import DecryptionError
from app.core.db import after_commit, tenant_transaction
from app.core.errors import Forbidden, FormInvalid, RecordNotFound, UploadRefused
from app.core.events import RecordChanged
from app.crm.activity import record_activity
from app.crm.upload import UploadMalformed, UploadTooLarge, receive_upload

NAME_LIMIT = 255
MULTIPART_SLACK = 1024 * 1024  # room for the form's other fields and part headers
RECORD_PATHS = {
    "contact": "/contacts/",
    "company": "/companies/",
    "deal": "/deals/",
    "invoice": "/invoices/",
}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_file_name(raw: str) -> str:
    """The name as lists and downloads show it: the last path component only, without
    control characters (NUL, newlines), at most 255 characters; "file" when nothing is left."""
    name = _UNSAFE_NAME.sub("_", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.strip(" .")[-NAME_LIMIT:].strip(" .")
    return name or "file"


def record_path(subject_type: str, subject_id: UUID) -> str:
    return f"{RECORD_PATHS[subject_type]}{subject_id}"


async def _require_record(tenant_id: UUID, subject_type: str, subject_id: UUID) -> None:
    async with tenant_transaction(tenant_id) as conn:
        if not await queries.record_exists(conn, subject_type, subject_id):
            raise RecordNotFound(subject_type if subject_type in RECORD_PATHS else "record")


async def list_attachments(
    current: Current, subject_type: str, subject_id: UUID
) -> list[AttachmentRow]:
    """A record's files (404 for a record outside the workspace)."""
    async with tenant_transaction(current.tenant_id) as conn:
        await _require_record(current.tenant_id, subject_type, subject_id)
        return await queries.attachments_of(conn, subject_type, subject_id)


async def get_attachment(current: Current, attachment_id: UUID) -> AttachmentRow:
    """One file of the workspace; RecordNotFound for anything else."""
    async with tenant_transaction(current.tenant_id) as conn:
        row = await queries.attachment(conn, attachment_id)
    if row is None:
        raise RecordNotFound("file")
    return row


def _head_and_digest(path: Path) -> tuple[bytes, str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        digest.update(head)
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return head, digest.hexdigest(), path.stat().st_size


# writes the uploaded file to the path (refusing it past the limit) and returns its name
Receiver = Callable[[Path, int], Awaitable[str]]


def streamed(content_type: str, body: AsyncIterator[bytes]) -> Receiver:
    """The multipart request body's "file" part, streamed to disk (nothing held in memory)."""

    async def receive(path: Path, limit: int) -> str:
        return (await receive_upload(content_type, body, "file", path, limit)).filename

    return receive


async def upload_attachment(
    current: Current,
    subject_type: str,
    subject_id: UUID,
    content_type: str,
    body: AsyncIterator[bytes],
    declared_length: int | None = None,
    receiver: Receiver | None = None,
) -> AttachmentRow:
    """Receive a multipart upload (field "file") onto the record, streamed to disk within the
    plan's limits, sniffed, encrypted into the store, listed and put on the timeline."""
    tenant_id = current.tenant_id
    async with tenant_transaction(tenant_id) as conn:
        await _require_record(tenant_id, subject_type, subject_id)
        used = await queries.stored_bytes(conn)
    limit, too_large = await attachment_room(tenant_id, used)
    if declared_length is not None and declared_length > limit + MULTIPART_SLACK:
        raise UploadRefused({"file": too_large})  # refused before a byte of it is read
    scratch = store.scratch_path(tenant_id)
    try:
        receive = receiver or streamed(content_type, body)
        try:
            file_name = await receive(scratch, limit)
        except UploadTooLarge as exc:
            raise UploadRefused({"file": too_large}) from exc
        except UploadMalformed as exc:
            message = str(exc) if "multipart" in str(exc) else "Choose a file to attach."
            raise FormInvalid({"file": message}) from exc
        name = clean_file_name(file_name)
        head, sha256, size = await asyncio.to_thread(_head_and_digest, scratch)
        if size == 0:
            raise FormInvalid({"file": "That file is empty."})
        try:
            sniffed = sniff(head, name)
        except RefusedFile as exc:
            raise FormInvalid({"file": str(exc)}) from exc
        return await _store(
            current, (subject_type, subject_id), scratch, name, sniffed, (sha256, size)
        )
    finally:
        scratch.unlink(missing_ok=True)


async def _store(
    current: Current,
    subject: tuple[str, UUID],
    plaintext: Path,
    name: str,
    content_type: str,
    checked: tuple[str, int],  # the plaintext's SHA-256 and size
) -> AttachmentRow:
    tenant_id, attachment_id = current.tenant_id, uuid.uuid4()
    sha256, size = checked
    stored_in = store.here()  # where save puts it
    await asyncio.to_thread(store.save, tenant_id, attachment_id, "file", plaintext)
    try:
        thumb = content_type in THUMBNAIL_TYPES and await asyncio.to_thread(
            store.make_thumbnail, tenant_id, attachment_id, plaintext
        )
        async with tenant_transaction(tenant_id, current.user_id) as conn:
            await queries.lock_storage(conn, tenant_id)
            await _require_record(tenant_id, *subject)
            # checked again under the lock: parallel uploads must not pass the limit together
            limit, too_large = await attachment_room(tenant_id, await queries.stored_bytes(conn))
            if size > limit:
                raise UploadRefused({"file": too_large})
            await queries.insert_attachment(
                conn,
                tenant_id,
                attachment_id,
                subject,
                name,
                content_type,
                size,
                sha256,
                thumb,
                current.user_id,
                stored_in,
            )
            await record_activity(
                tenant_id, current.user_id, *subject, "attached", f"attached the file {name}"
            )
            row = await queries.attachment(conn, attachment_id)
    except BaseException:
        store.remove(tenant_id, attachment_id)  # no row: the stored file must not stay
        raise
    assert row is not None  # just inserted in this transaction
    return row


async def delete_attachment(current: Current, attachment_id: UUID) -> AttachmentRow:
    """Delete a file: its uploader or an admin (as notes); a timeline entry says so."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await get_attachment(current, attachment_id)  # joins this transaction
        if row.uploaded_by != current.user_id and not current.is_admin:
            raise Forbidden("Only the member who attached this file or an admin can delete it.")
        if not await queries.delete_attachment(conn, attachment_id):
            raise RecordNotFound("file")
        await record_activity(
            current.tenant_id,
            current.user_id,
            row.subject_type,
            row.subject_id,
            "detached",
            f"deleted the file {row.file_name}",
        )
        after_commit(_remover(current.tenant_id, [attachment_id]))
    return row


def _remover(tenant_id: UUID, attachment_ids: list[UUID]) -> Callable[[], Awaitable[None]]:
    async def remove() -> None:
        for attachment_id in attachment_ids:
            await asyncio.to_thread(store.remove, tenant_id, attachment_id)

    return remove


async def open_part(
    tenant_id: UUID, attachment_id: UUID, part: str, stored_in: str | None = None
) -> AsyncIterator[bytes]:
    """The plaintext of a stored file (or thumbnail) as a stream, decrypted in a thread, from
    where its row says it is. The first segment is read now, so a missing or foreign file is
    RecordNotFound before any header is sent."""
    segments: Iterator[bytes] = store.read(tenant_id, attachment_id, part, stored_in)
    done = b""  # the end; an empty segment can only be the last one, so it may end it too
    try:
        first = await asyncio.to_thread(next, segments, done)
    except (FileNotFoundError, DecryptionError) as exc:
        raise RecordNotFound("file") from exc

    async def rest() -> AsyncIterator[bytes]:
        segment = first
        while segment:
            yield segment
            segment = await asyncio.to_thread(next, segments, done)

    return rest()


async def on_record_changed(change: RecordChanged) -> None:
    """A record was deleted: its files go with it, rows now (in the deleting transaction, so
    a rolled-back delete keeps them) and bytes once that commits."""
    if change.action != "deleted" or change.subject_type not in RECORD_PATHS:
        return
    async with tenant_transaction(change.tenant_id) as conn:
        ids = await queries.delete_of_record(conn, change.subject_type, change.subject_id)
        if ids:
            after_commit(_remover(change.tenant_id, ids))


# ---- the data map's treatments (app/attachments/datamap.py) ------------------------------


async def erase_contact_files(tenant_id: UUID, contact_id: UUID) -> int:
    """A contact's erasure: the files attached to them go, rows and bytes."""
    async with tenant_transaction(tenant_id) as conn:
        ids = await queries.delete_of_record(conn, "contact", contact_id)
        if ids:
            after_commit(_remover(tenant_id, ids))
    return len(ids)


async def purge_workspace_files(tenant_id: UUID) -> int:
    """The workspace purge: every stored file of the workspace (the rows go with its tables)."""
    return await asyncio.to_thread(store.remove_workspace, tenant_id)


async def write_export(
    archive: zipfile.ZipFile, tenant_id: UUID, user_id: UUID, scope: str
) -> list[dict[str, object]]:
    """Put the files into an export zip as ``attachments/<record type>/<id>-<name>`` (all of
    the workspace's, or those the member attached); their manifest entries."""
    async with tenant_transaction(tenant_id) as conn:
        rows = await queries.for_export(conn, None if scope == "workspace" else user_id)
    written: list[dict[str, object]] = []
    for row in rows:
        path = f"attachments/{row.subject_type}/{row.id}-{row.file_name.replace('/', '_')}"
        try:
            await asyncio.to_thread(_copy_into, archive, path, tenant_id, row)
        except (FileNotFoundError, ValueError):  # lost or unreadable: listed, not fatal
            written.append({"file": path, "missing": True})
            continue
        written.append(
            {
                "file": path,
                "record_type": row.subject_type,
                "record_id": str(row.subject_id),
                "content_type": row.content_type,
                "bytes": row.size_bytes,
            }
        )
    return written


def _copy_into(archive: zipfile.ZipFile, path: str, tenant_id: UUID, row: AttachmentRow) -> None:
    with archive.open(path, "w", force_zip64=True) as out:
        for segment in store.read(tenant_id, row.id, "file", row.stored_in):
            out.write(segment)
