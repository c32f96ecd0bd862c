"""Erasure in the CRM: what one contact's erasure and one member's account deletion change here.

The data map (app/crm/datamap.py) calls these. A contact's erasure removes the record, the
notes and tasks about it, its links to deals, its failed import rows and any uploaded file
that still holds it, and blanks its timeline entries and every mention of it (by name, address
or number) in other notes. A member's account deletion blanks their address and "@Name"
mentions in notes and their name and id in timeline diffs.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from uuid import UUID

from piccolo.querystring import QueryString

from app.core.crypto import Binding, DecryptionError, decrypt_list, decrypt_text, encrypt_text
from app.core.datamap import ContactRef, Subject
from app.core.db import tenant_transaction
from app.crm.import_queries import every_failed_import_row
from app.crm.imports import import_path, open_csv
from app.crm.queries import replace_in_timeline
from app.crm.secure import (
    activity_notes_binding,
    import_error_binding,
    note_binding,
    open_contact,
    phone_key,
)
from app.crm.tables import Activity, Contact, CrmImport, CrmImportError, Note

ERASED = "[erased on request]"
REDACTED = "[erased]"
FORMER = "a former member"
BATCH = 500
FILE_GONE = (
    "The uploaded file was deleted because a person in it asked for their data to be erased."
    " Upload it again without them."
)


async def identify_contact(tenant_id: UUID, contact_id: UUID) -> ContactRef | None:
    """The contact as an erasure needs it: names, addresses, numbers (decrypted)."""
    async with tenant_transaction(tenant_id):
        row = (
            await Contact.select(
                Contact.id,
                Contact.tenant_id,
                Contact.first_name,
                Contact.last_name,
                Contact.emails_enc,
                Contact.phones_enc,
            )
            .where(Contact.id == contact_id)
            .first()
        )
    if row is None:
        return None
    opened = open_contact(row)
    return ContactRef(
        tenant_id,
        contact_id,
        str(row["first_name"]),
        str(row["last_name"]),
        tuple(opened["emails"]),
        tuple(opened["phones"]),
    )


def contact_patterns(contact: ContactRef) -> list[re.Pattern[str]]:
    """What identifies the contact in free text: @-mentions of the name, the full name, every
    address and number (digits as typed or spaced)."""
    found = [re.escape(e) for e in contact.emails if e]
    for phone in contact.phones:
        digits = phone_key(phone)
        if len(digits) >= 6:
            found.append(r"\+?" + r"[\s().-]*".join(re.escape(d) for d in digits))
    if contact.first_name and contact.last_name:
        found.append(r"@?\"?" + re.escape(contact.full_name) + r"\"?")
    for name in (contact.full_name.replace(" ", ""), contact.first_name, contact.last_name):
        if name:
            found.append(r"@\"?" + re.escape(name) + r"(?![\w@-])\"?")
    return [re.compile(p, re.IGNORECASE) for p in found]


def member_patterns(subject: Subject) -> list[re.Pattern[str]]:
    """What names a deleted member in a note: their addresses and @-mentions of their name."""
    found = [re.escape(e) for e in subject.emails if e]
    for name in subject.names:
        if name:
            found.append(r"@\"?" + re.escape(name) + r"(?![\w@-])\"?")
    return [re.compile(p, re.IGNORECASE) for p in found]


def redact(text: str, patterns: Iterable[re.Pattern[str]]) -> str:
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text


async def redact_sealed(
    tenant_id: UUID,
    patterns: list[re.Pattern[str]],
    table: str = "notes",
    column: str = "body_enc",
    binding: Callable[[UUID, object], Binding] = note_binding,
) -> int:
    """Rewrite every sealed text of the workspace (note bodies, activities' notes) that
    matches, re-sealed to its row; returns count.

    The texts are encrypted, so the database can't search them: each is opened in batches.
    """
    if not patterns:
        return 0
    changed = 0
    after = UUID(int=0)
    while True:
        async with tenant_transaction(tenant_id) as conn:
            rows = await conn.fetch(
                f"select id, {column} as sealed from {table} where id > $1"
                f" and {column} is not null order by id limit $2 for update",
                after,
                BATCH,
            )
            for row in rows:
                bound = binding(tenant_id, row["id"])
                try:
                    body = decrypt_text(row["sealed"], binding=bound)
                except DecryptionError:
                    continue  # not readable here: nothing we could match either
                new = redact(body, patterns)
                if new != body:
                    await conn.execute(
                        f"update {table} set {column} = $2, updated_at = now() where id = $1",
                        row["id"],
                        encrypt_text(new, binding=bound),
                    )
                    changed += 1
        if len(rows) < BATCH:
            return changed
        after = rows[-1]["id"]


async def redact_notes(tenant_id: UUID, patterns: list[re.Pattern[str]]) -> int:
    """Notes and activities' notes of the workspace with `patterns` blanked; returns count."""
    return await redact_sealed(tenant_id, patterns) + await redact_sealed(
        tenant_id, patterns, "tasks", "notes_enc", activity_notes_binding
    )


async def count_notes_matching(tenant_id: UUID, patterns: list[re.Pattern[str]]) -> int:
    """How many notes (and activities' notes) of the workspace still match (the deletion
    report's check)."""
    if not patterns:
        return 0
    found = 0
    sources: list[tuple[str, Callable[[UUID, object], Binding]]] = [
        ("select id, body_enc as sealed from notes", note_binding),
        ("select id, notes_enc as sealed from tasks where notes_enc is not null",
         activity_notes_binding),
    ]  # fmt: skip
    async with tenant_transaction(tenant_id) as conn:
        for sql, binding in sources:
            async for row in conn.cursor(sql):
                try:
                    body = decrypt_text(row["sealed"], binding=binding(tenant_id, row["id"]))
                except DecryptionError:
                    continue
                found += any(p.search(body) for p in patterns)
    return found


# --- a contact's erasure -------------------------------------------------------------------


async def erase_notes(contact: ContactRef) -> int:
    """Notes about the contact go; other notes keep their text with the contact blanked."""
    async with tenant_transaction(contact.tenant_id):
        deleted = await (
            Note.delete()
            .where((Note.subject_type == "contact") & (Note.subject_id == contact.contact_id))
            .returning(Note.id)
        )
    return len(deleted) + await redact_notes(contact.tenant_id, contact_patterns(contact))


async def erase_tasks(contact: ContactRef) -> int:
    """Activities on the contact go; in others the contact stops being a participant."""
    async with tenant_transaction(contact.tenant_id) as conn:
        status = await conn.execute(
            "delete from tasks where subject_type = 'contact' and subject_id = $1",
            contact.contact_id,
        )
        taken = await conn.execute(
            "update tasks set participant_ids = array_remove(participant_ids, $1),"
            " updated_at = now() where $1 = any(participant_ids)",
            contact.contact_id,
        )
    return int(status.split()[-1]) + int(taken.split()[-1])


async def erase_timeline(contact: ContactRef) -> int:
    """The contact's timeline keeps who did what when; its text and diffs are blanked."""
    async with tenant_transaction(contact.tenant_id):
        blanked = await (
            Activity.update({Activity.summary: ERASED, Activity.changes: "{}"})
            .where(
                (Activity.subject_type == "contact") & (Activity.subject_id == contact.contact_id)
            )
            .returning(Activity.id)
        )
    return len(blanked)


async def erase_contact_row(contact: ContactRef) -> int:
    async with tenant_transaction(contact.tenant_id):
        deleted = await (
            Contact.delete().where(Contact.id == contact.contact_id).returning(Contact.id)
        )
    return len(deleted)


def _row_names(cells: list[str], contact: ContactRef) -> bool:
    """Does a CSV row (cells) hold the contact: an address, a number, or both names?"""
    lowered = [c.strip().lower() for c in cells]
    emails = {e.lower() for e in contact.emails}
    if any(e and e in cell for cell in lowered for e in emails):
        return True
    numbers = {phone_key(p) for p in contact.phones if len(phone_key(p)) >= 6}
    if numbers and any(phone_key(cell) in numbers for cell in cells if cell):
        return True
    first, last = contact.first_name.lower(), contact.last_name.lower()
    if first and last:
        return (first in lowered and last in lowered) or contact.full_name.lower() in lowered
    return False


async def erase_import_errors(contact: ContactRef) -> int:
    """Failed import rows that hold the contact (their cells are sealed: opened here)."""
    doomed: list[UUID] = []
    async with tenant_transaction(contact.tenant_id) as conn:
        async for failed in every_failed_import_row(conn):
            binding = import_error_binding(contact.tenant_id, failed.id)
            try:
                cells = decrypt_list(failed.raw, binding)
            except DecryptionError:
                continue
            if _row_names(cells, contact):
                doomed.append(failed.id)
        if doomed:
            await CrmImportError.delete().where(CrmImportError.id.is_in(doomed))
    return len(doomed)


def _file_holds(path: Path, encoding: str, delimiter: str, contact: ContactRef) -> bool:
    try:
        with open_csv(path, encoding) as handle:
            return any(_row_names(row, contact) for row in csv.reader(handle, delimiter=delimiter))
    except (OSError, csv.Error, UnicodeDecodeError):
        return True  # unreadable: it can't be shown to hold nobody, so it goes too


async def erase_import_files(contact: ContactRef) -> int:
    """Uploaded files still kept (imports not finished) that hold the contact are deleted, so
    a later run can't bring the person back; their import says why."""
    async with tenant_transaction(contact.tenant_id):
        imports = await CrmImport.select(CrmImport.id, CrmImport.encoding, CrmImport.delimiter)
    removed = 0
    for item in imports:
        path = import_path(contact.tenant_id, item["id"])
        if not path.exists():
            continue
        if await asyncio.to_thread(_file_holds, path, item["encoding"], item["delimiter"], contact):
            path.unlink(missing_ok=True)
            removed += 1
            async with tenant_transaction(contact.tenant_id):
                await CrmImport.update(
                    {
                        CrmImport.status: "failed",
                        CrmImport.error: FILE_GONE,
                        CrmImport.updated_at: QueryString("now()"),
                    }
                ).where((CrmImport.id == item["id"]) & (CrmImport.status != "done"))
    return removed


# --- a member's account deletion -----------------------------------------------------------


async def forget_member_in_notes(subject: Subject) -> int:
    patterns = member_patterns(subject)
    return sum([await redact_notes(t, patterns) for t in subject.tenant_ids])


async def scan_notes(subject: Subject) -> list[str]:
    """Notes (decrypted) still naming the deleted member."""
    if subject.workspace_id is not None:
        return []  # the purge's table check covers the rows themselves
    patterns = member_patterns(subject)
    found = sum([await count_notes_matching(t, patterns) for t in subject.tenant_ids])
    return [f"{found} notes still mention the person"] if found else []


async def forget_member_in_timeline(subject: Subject) -> int:
    """Timeline diffs name owners by name (and deals by id): those become 'a former member'."""
    changed = 0
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            for value in [str(subject.user_id), *subject.names]:
                if not value:
                    continue
                quoted = json.dumps(value, ensure_ascii=False)  # as jsonb prints strings
                changed += await replace_in_timeline(conn, quoted, json.dumps(FORMER))
    return changed
