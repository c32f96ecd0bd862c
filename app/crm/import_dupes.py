"""A CSV import's contact rows whose email address a contact of the workspace already has
(matched by blind index, never in clear): updated into that contact, skipped, or created as
duplicates, as the mapping step chose (crm_imports.on_duplicate). Call inside the import
batch's tenant transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import fetch_as
from app.crm.activity import record_activity
from app.crm.merge import union
from app.crm.secure import email_indexes, open_contact, seal_contact

ON_DUPLICATE = ("update", "skip", "create")
Rows = tuple[list[dict[str, Any]], list[tuple[int, list[str]]]]


class Known(msgspec.Struct, frozen=True):
    id: UUID
    emails_bidx: list[str]


async def _update(
    c: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID | None,
    contact_id: UUID,
    data: dict[str, Any],
) -> None:
    """The row's values into the contact: names and title when the row has them, emails,
    phones and tags added to the contact's."""
    row = await c.fetchrow("select * from contacts where id = $1 for update", contact_id)
    if row is None:
        return
    old = open_contact(row)
    emails = union(old["emails"], data["emails"])
    phones = union(old["phones"], data["phones"])
    sealed = seal_contact(emails, phones, tenant_id, contact_id)
    await c.execute(
        "update contacts set first_name = $2, last_name = $3, title = $4, emails_enc = $5,"
        " emails_bidx = $6, phones_enc = $7, phones_bidx = $8, tags = $9,"
        " version = version + 1, updated_at = now() where id = $1",
        contact_id,
        data["first_name"] or old["first_name"],
        data["last_name"] or old["last_name"],
        data["title"] or old["title"],
        *sealed,
        union(list(old["tags"] or []), data["tags"]),
    )
    summary = "updated the contact (CSV import)"
    await record_activity(tenant_id, user_id, "contact", contact_id, "updated", summary)


async def absorb_known(
    c: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID | None,
    rows: Rows,
    on_duplicate: str,
) -> Rows:
    """The rows still to insert (good rows and their numbered cells): a row with a known email
    updates that contact ("update") or is dropped ("skip")."""
    good, numbered = rows
    if on_duplicate not in ("update", "skip"):
        return rows
    indexes = [email_indexes(r["emails"]) for r in good]
    wanted = sorted({i for found in indexes for i in found})
    if not wanted:
        return rows
    known = await fetch_as(
        c,
        Known,
        "select id, emails_bidx from contacts where tenant_id = $1 and emails_bidx && $2::text[]",
        tenant_id,
        wanted,
    )
    owner = {i: k.id for k in known for i in k.emails_bidx}
    kept: Rows = ([], [])
    earlier: dict[str, dict[str, Any]] = {}  # this batch's new rows by their emails' indexes
    for data, cells, found in zip(good, numbered, indexes, strict=True):
        match = next((owner[i] for i in found if i in owner), None)
        twin = next((earlier[i] for i in found if i in earlier), None)
        if match is not None:
            if on_duplicate == "update":
                await _update(c, tenant_id, user_id, match, data)
        elif twin is not None:  # the file names the same person twice: one contact
            if on_duplicate == "update":
                _fold(twin, data)
        else:
            kept[0].append(data)
            kept[1].append(cells)
            earlier.update(dict.fromkeys(found, data))
    return kept


def _fold(into: dict[str, Any], row: dict[str, Any]) -> None:
    """A later row of the same person into the earlier one (both still to be inserted)."""
    for field in ("first_name", "last_name", "title"):
        into[field] = row[field] or into[field]
    for field in ("emails", "phones", "tags"):
        into[field] = union(into[field], row[field])
