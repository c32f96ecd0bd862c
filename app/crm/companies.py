"""Company actions: validate, create, edit, delete, list (keyset), read with related records."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

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
from app.crm.filters import Column, CompanyView, text_column, time_column
from app.crm.schemas import CompanyEdit, CompanyForm
from app.crm.tables import Company

FIELDS = ("name", "domain", "industry", "size", "address", "owner_id")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+")
# the list's columns, each sortable both ways ("name" by the (tenant_id, sort_name) index)
COLUMNS = {
    "name": Column("Name", ("c.sort_name",), ("text",)),
    "domain": text_column("Domain", "c.domain"),
    "industry": text_column("Industry", "c.industry"),
    "size": text_column("Size", "c.size"),
    "owner": text_column("Owner", "u.name"),
    "created": time_column("Created", "c.created_at"),
    "updated": time_column("Updated", "c.updated_at"),
    "newest": time_column("Newest", "c.created_at"),
}


async def _row(company_id: UUID) -> dict[str, object]:
    """The company, locked until the transaction ends (an edit or delete is decided on it)."""
    return await records.locked_row(Company, "company", company_id)


async def create_company(current: Current, form: CompanyForm) -> UUID:
    data = form_data(form, FIELDS)
    company_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id):
        await check_record_limit(current.tenant_id, "companies")  # plan limit (billing)
        await check_member(data["owner_id"], "owner_id", "an owner")
        custom = await check_custom(current.tenant_id, "company", form.custom, None)
        values = {f: data[f] for f in FIELDS}
        values["custom_values"] = encoded(custom.values)
        await insert_new(Company, id=company_id, tenant_id=current.tenant_id, **values)
        changes = field_diff(None, await readable(data), FIELDS) | custom.changes
        summary = f"created the company {data['name']}"
        await log_activity(current, "company", company_id, "created", summary, changes)
    return company_id


async def update_company(current: Current, company_id: UUID, form: CompanyEdit) -> None:
    """Save an edit made from version `form.version`; EditConflict when it moved on since."""
    data = form_data(form, FIELDS)
    async with tenant_transaction(current.tenant_id, current.user_id):
        before = await _row(company_id)
        await check_member(data["owner_id"], "owner_id", "an owner")
        await records.refuse_old_edit("company", company_id, before, data, FIELDS, form.version)
        was = stored_values(before["custom_values"])
        custom = await check_custom(current.tenant_id, "company", form.custom, was)
        values = [*(data[f] for f in FIELDS), encoded(custom.values)]
        columns = (*FIELDS, "custom_values")
        await records.save_edit(Company, "company", company_id, form.version, columns, values)
        changes = field_diff(await readable(before), await readable(data), FIELDS)
        changes |= custom.changes
        await records.log_changes(current, "company", company_id, changes)


async def delete_company(current: Current, company_id: UUID, version: int) -> str:
    """Delete a company (its contacts stay, without company) if it is still at the `version`
    the confirmation showed (else EditConflict: confirm again); returns its name."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        before = await _row(company_id)
        await records.refuse_stale_delete("company", company_id, before, version)
        if await queries.company_has_invoices(c, company_id):
            raise FormInvalid(
                {"form": "This company has invoices, which must be kept. Void them instead."}
            )
        name = str(before["name"])
        await records.delete_with_notes(current, Company, "company", company_id, name)
    return str(before["name"])


async def get_company(current: Current, company_id: UUID) -> dict[str, Any]:
    read = queries.company_with_owner
    record = await records.read_record(current, "company", read, company_id)
    return await with_custom(current, "company", record)


async def list_companies(
    current: Current, view: CompanyView | None = None, limit: int = 50
) -> Page:
    """A page of the companies `view` shows (search, filters, order, cursor)."""
    view = view or CompanyView()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        spec = await list_spec(COLUMNS, "name", view, "c", "c.id")
        window = Window(spec, view.after or None, view.before or None, limit)
        return await list_queries.company_page(
            c, current.tenant_id, view.q.strip()[:200], window, view
        )


async def company_choices(current: Current, ids: list[UUID]) -> list[tuple[str, str]]:
    """(id, name) pairs of the companies `ids` a form's picker shows as chosen (the picker
    searches the rest on the server, app/search: no first-N list that could drop a link)."""
    if not ids:
        return []
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = (
            await Company.select(Company.id, Company.name)
            .where(Company.tenant_id == current.tenant_id, Company.id.is_in(ids))
            .order_by(Company.sort_name, Company.id)
        )
    return [(str(r["id"]), r["name"]) for r in rows]
