"""Contact actions: validate, create, edit, delete, list (keyset + search), read.

Emails and phones are stored encrypted (app/crm/secure.py): written sealed, read opened.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.billing.limits import check_record_limit
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from app.core.forms.values import form_data
from app.core.paging import Page, Window
from app.core.rows import insert_new
from app.crm import list_queries, queries, records
from app.crm.activity import field_diff, log_activity
from app.crm.common import check_member, readable
from app.crm.custom_fields import stored_values
from app.crm.custom_sort import list_spec
from app.crm.custom_values import check_custom, encoded, with_custom
from app.crm.filters import Column, ContactView, sort_spec, text_column, time_column
from app.crm.schemas import UNKNOWN_COMPANY, ContactEdit, ContactForm
from app.crm.secure import (
    Sealed,
    lookup_indexes,
    open_contact,
    open_listed,
    redact_changes,
    seal_contact,
    sealed_listed,
)
from app.crm.tables import Company, Contact

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
# the list's columns, each sortable both ways ("name" by the (tenant_id, sort_last…) index)
COLUMNS = {
    "name": Column("Name", ("c.sort_last", "c.sort_first"), ("text", "text")),
    "title": text_column("Title", "c.title"),
    "company": text_column("Company", "co.name"),
    "owner": text_column("Owner", "u.name"),
    "created": time_column("Created", "c.created_at"),
    "updated": time_column("Updated", "c.updated_at"),
    "newest": time_column("Newest", "c.created_at"),
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


class ListedContact(msgspec.Struct, frozen=True):
    """A contact's row of the list: every value it shows, its first email address still
    sealed (hashable: the key of its kept fragment, crm/contacts/_row.html)."""

    id: UUID
    first_name: str
    last_name: str
    title: str | None
    company_id: UUID | None
    company_name: str | None
    email: Sealed | None
    owner_name: str | None
    tags: tuple[str, ...]


def listed(row: Mapping[str, Any]) -> ListedContact:
    """A row of `list_contacts` as its list row's values."""
    emails = row["emails"]
    return ListedContact(
        row["id"],
        row["first_name"],
        row["last_name"],
        row["title"],
        row["company_id"],
        row["company_name"],
        emails[0] if emails else None,
        row["owner_name"],
        tuple(row["tags"] or ()),
    )


async def check_company(company_id: UUID | None) -> None:
    if company_id is None:
        return
    if not await Company.exists().where(Company.id == company_id):
        raise FormInvalid({"company_id": UNKNOWN_COMPANY})


def full_name(data: dict[str, object]) -> str:
    return f"{data.get('first_name') or ''} {data.get('last_name') or ''}".strip()


async def _row(contact_id: UUID) -> dict[str, object]:
    """The contact, locked until the transaction ends (an edit or delete is decided on it)."""
    return open_contact(await records.locked_row(Contact, "contact", contact_id))


def _stored(data: dict[str, Any], tenant_id: UUID, contact_id: UUID) -> list[object]:
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
        async with tenant_transaction(current.tenant_id, current.user_id):
            await check_record_limit(current.tenant_id, "contacts")  # plan limit (billing)
            await check_company(data["company_id"])
            await check_member(data["owner_id"], "owner_id", "an owner")
            custom = await check_custom(current.tenant_id, "contact", form.custom, None)
            sealed = _stored(data, current.tenant_id, contact_id)
            stored: dict[str, object] = dict(zip(STORED_COLUMNS, sealed, strict=True))
            stored["custom_values"] = encoded(custom.values)
            # search_text: set by the contacts_search_text trigger, sort_*: generated
            await insert_new(Contact, id=contact_id, tenant_id=current.tenant_id, **stored)
            changes = redact_changes(field_diff(None, await readable(data), FIELDS))
            changes |= custom.changes
            summary = f"created the contact {full_name(data)}"
            await log_activity(current, "contact", contact_id, "created", summary, changes)
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
            was = stored_values(before["custom_values"])
            custom = await check_custom(current.tenant_id, "contact", form.custom, was)
            values = [*_stored(data, current.tenant_id, contact_id), encoded(custom.values)]
            columns = (*STORED_COLUMNS, "custom_values")
            await records.save_edit(Contact, "contact", contact_id, form.version, columns, values)
            changes = field_diff(await readable(before), await readable(data), FIELDS)
            changes = redact_changes(changes) | custom.changes
            await records.log_changes(current, "contact", contact_id, changes)
    except asyncpg.ForeignKeyViolationError as exc:  # deleted meanwhile
        raise FormInvalid({"company_id": UNKNOWN_COMPANY}) from exc


async def delete_contact(current: Current, contact_id: UUID, version: int) -> str:
    """Delete a contact with its notes and tasks, if it is still at the `version` the
    confirmation showed (else EditConflict: confirm again); returns its name."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _row(contact_id)
        await records.refuse_stale_delete("contact", contact_id, before, version)
        await records.delete_with_notes(current, Contact, "contact", contact_id, full_name(before))
    return full_name(before)


async def get_contact(current: Current, contact_id: UUID) -> dict[str, Any]:
    read = queries.contact_with_names
    record = open_contact(await records.read_record(current, "contact", read, contact_id))
    return await with_custom(current, "contact", record)


async def list_contacts(
    current: Current,
    view: ContactView | None = None,
    limit: int = 50,
    company_id: UUID | None = None,
) -> Page:
    """A page of the contacts `view` shows (search, filters, order, cursor); each row's
    first email address `Sealed` (decrypted when shown)."""
    view = view or ContactView()
    query = view.q.strip()[:200]
    indexes = lookup_indexes(query)
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        spec = await list_spec(COLUMNS, "name", view, "c", "c.id")
        window = Window(spec, view.after or None, view.before or None, limit)
        page = await list_queries.contact_page(
            c, current.tenant_id, query, indexes, company_id, window, view
        )
    page.rows = [sealed_listed(row, current.tenant_id) for row in page.rows]
    return page


async def company_contacts(current: Current, company_id: UUID, limit: int = 100) -> Page:
    """The first `limit` contacts of a company by name, with their first email address only
    (what the company's page shows: no count, no phone numbers to decrypt)."""
    spec = sort_spec(COLUMNS, "name", ContactView(), "c.id")
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        page = await list_queries.company_contacts_page(
            c, current.tenant_id, company_id, Window(spec, limit=limit)
        )
    page.rows = [open_listed(row, current.tenant_id) for row in page.rows]
    return page
