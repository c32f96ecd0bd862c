"""Contact actions: validate, create, edit, delete, list (keyset + search), read.

Emails and phones are stored encrypted (app/crm/secure.py): written sealed, read opened.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.billing.limits import check_record_limit
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms.values import form_data
from app.core.paging import Page, Params, SortSpec, keyset_page, like_pattern
from app.crm import records
from app.crm.activity import field_diff, record_activity
from app.crm.common import check_member, conn, readable
from app.crm.schemas import UNKNOWN_COMPANY, ContactEdit, ContactForm
from app.crm.secure import open_contact, redact_changes, seal_contact, search_indexes

FIELDS = (
    "first_name",
    "last_name",
    "emails",
    "phones",
    "title",
    "company_id",
    "owner_id",
    "tags",
)
SORTS = {
    "name": SortSpec(
        "Name A-Z",
        ("c.sort_last", "c.sort_first", "c.id"),
        ("text", "text", "uuid"),
    ),
    "newest": SortSpec("Newest", ("c.created_at", "c.id"), ("ts", "uuid"), descending=True),
}
# FIELDS as columns: emails and phones are stored as ciphertexts and blind indexes
STORED_COLUMNS = (
    "first_name",
    "last_name",
    "emails_enc",
    "emails_bidx",
    "phones_enc",
    "phones_bidx",
    "title",
    "company_id",
    "owner_id",
    "tags",
)


async def check_company(company_id: UUID | None) -> None:
    if company_id is None:
        return
    if not await conn().fetchval("select 1 from companies where id = $1", company_id):
        raise FormInvalid({"company_id": UNKNOWN_COMPANY})


def full_name(data: dict[str, Any]) -> str:
    return f"{data.get('first_name') or ''} {data.get('last_name') or ''}".strip()


async def _row(contact_id: UUID) -> dict[str, Any]:
    """The contact, locked until the transaction ends (an edit or delete is decided on it)."""
    return open_contact(await records.locked_row("contacts", "contact", contact_id))


def _stored(data: dict[str, Any], tenant_id: UUID, contact_id: UUID) -> list[Any]:
    """The column values of FIELDS as stored: emails and phones sealed to the contact's row
    (see STORED_COLUMNS)."""
    return [
        data["first_name"],
        data["last_name"],
        *seal_contact(data["emails"], data["phones"], tenant_id, contact_id),
        *(data[f] for f in FIELDS[4:]),
    ]


async def create_contact(current: Current, form: ContactForm) -> UUID:
    data = form_data(form, FIELDS)
    contact_id = uuid.uuid4()
    try:
        async with tenant_transaction(current.tenant_id, current.user_id) as c:
            await check_record_limit(current.tenant_id, "contacts")  # plan limit (billing)
            await check_company(data["company_id"])
            await check_member(data["owner_id"], "owner_id", "an owner")
            await c.execute(
                f"insert into contacts (id, tenant_id, {', '.join(STORED_COLUMNS)})"
                " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                contact_id,
                current.tenant_id,
                *_stored(data, current.tenant_id, contact_id),
            )
            await record_activity(
                current.tenant_id,
                current.user_id,
                "contact",
                contact_id,
                "created",
                f"created the contact {full_name(data)}",
                redact_changes(field_diff(None, await readable(data), FIELDS)),
            )
    except asyncpg.ForeignKeyViolationError as exc:  # deleted meanwhile
        raise FormInvalid({"company_id": UNKNOWN_COMPANY}) from exc
    return contact_id


async def update_contact(current: Current, contact_id: UUID, form: ContactEdit) -> None:
    """Save an edit made from version `form.version`; EditConflict when it moved on since."""
    data = form_data(form, FIELDS)
    try:
        async with tenant_transaction(current.tenant_id, current.user_id):
            before = await _row(contact_id)
            await check_company(data["company_id"])
            await check_member(data["owner_id"], "owner_id", "an owner")
            await records.refuse_old_edit("contact", contact_id, before, data, FIELDS, form.version)
            values = _stored(data, current.tenant_id, contact_id)
            await records.save_edit(
                "contacts", "contact", contact_id, form.version, STORED_COLUMNS, values
            )
            changes = field_diff(await readable(before), await readable(data), FIELDS)
            await records.log_changes(current, "contact", contact_id, redact_changes(changes))
    except asyncpg.ForeignKeyViolationError as exc:  # deleted meanwhile
        raise FormInvalid({"company_id": UNKNOWN_COMPANY}) from exc


async def delete_contact(current: Current, contact_id: UUID, version: int) -> str:
    """Delete a contact with its notes and tasks, if it is still at the `version` the
    confirmation showed (else EditConflict: confirm again); returns its name."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _row(contact_id)
        await records.refuse_stale_delete("contact", contact_id, before, version)
        await records.delete_with_notes(
            current, "contacts", "contact", contact_id, full_name(before)
        )
    return full_name(before)


async def get_contact(current: Current, contact_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "select c.*, co.name as company_name, u.name as owner_name from contacts c"
            " left join companies co on co.id = c.company_id"
            " left join users u on u.id = c.owner_id where c.id = $1",
            contact_id,
        )
    if row is None:
        raise RecordNotFound("contact")
    return open_contact(row)


async def list_contacts(
    current: Current,
    q: str = "",
    sort: str = "name",
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
    company_id: UUID | None = None,
) -> Page:
    spec = SORTS.get(sort, SORTS["name"])
    params = Params()
    where = [f"c.tenant_id = {params.add(current.tenant_id)}"]
    query = q.strip()[:200]
    if query:
        # names and title by substring; an exact email or phone number by its blind index
        pattern, indexes = params.add(like_pattern(query)), params.add(search_indexes(query))
        where.append(
            f"(c.search_text like {pattern} or c.emails_bidx && {indexes}::text[]"
            f" or c.phones_bidx && {indexes}::text[])"
        )
    if company_id is not None:
        where.append(f"c.company_id = {params.add(company_id)}")
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        page = await keyset_page(
            c,
            select=(
                "c.id, c.first_name, c.last_name, c.emails_enc, c.phones_enc, c.title, c.tags,"
                " c.company_id, co.name as company_name, u.name as owner_name"
            ),
            from_sql=(
                "contacts c left join companies co on co.id = c.company_id"
                " left join users u on u.id = c.owner_id"
            ),
            where=where,
            params=params,
            spec=spec,
            after=after,
            before=before,
            limit=limit,
        )
    page.rows = [open_contact(row, current.tenant_id) for row in page.rows]
    return page
