"""Invoice actions: create and edit drafts, numbers from a per-tenant counter, status workflow."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms.values import form_data, form_values
from app.core.money import amount
from app.core.paging import Params, SortSpec, keyset_page
from app.crm.activity import edit_conflict, record_activity, stale_page
from app.crm.common import conn
from app.invoices.money import CURRENCIES, Line, Totals, compute_totals
from app.invoices.schemas import (
    TRANSITIONS,
    InvoiceEdit,
    InvoiceForm,
    invoice_number,
)

CONFLICT_FIELDS = ("company_id", "deal_id", "currency", "issue_date", "due_date", "notes")


def _invoice_data(form: InvoiceForm) -> dict[str, Any]:
    return form_data(form, CONFLICT_FIELDS) | {"issue_date": form.issue_date or date.today()}


async def _as_read(data: dict[str, Any], total: Decimal) -> dict[str, Any]:
    """An invoice's fields as people read them (names, not ids), to show an edit conflict."""
    c = conn()
    company = await c.fetchval("select name from companies where id = $1", data["company_id"])
    deal = await c.fetchval("select title from deals where id = $1", data["deal_id"])
    return {**data, "company_id": company, "deal_id": deal, "lines": f"total {amount(total)}"}


async def _check_refs(data: dict[str, Any]) -> None:
    c = conn()
    if not await c.fetchval("select 1 from companies where id = $1", data["company_id"]):
        raise FormInvalid({"company_id": "Choose a company from your workspace."})
    if data["deal_id"] is not None:
        deal_company = await c.fetchrow(
            "select company_id from deals where id = $1", data["deal_id"]
        )
        if deal_company is None:
            raise FormInvalid({"deal_id": "Choose a deal from your workspace."})
        if deal_company["company_id"] not in (None, data["company_id"]):
            raise FormInvalid({"deal_id": "That deal belongs to another company."})


async def _write_lines(tenant_id: UUID, invoice_id: UUID, lines: list[Line]) -> Totals:
    totals = compute_totals(lines)
    await conn().execute("delete from invoice_lines where invoice_id = $1", invoice_id)
    await conn().executemany(
        "insert into invoice_lines (id, tenant_id, invoice_id, position, description, quantity,"
        " unit_price, tax_rate, net_amount) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                uuid.uuid4(),
                tenant_id,
                invoice_id,
                i,
                ln.description,
                ln.quantity,
                ln.unit_price,
                ln.tax_rate,
                ln.net,
            )
            for i, ln in enumerate(lines)
        ],
    )
    await conn().execute(
        "update invoices set subtotal = $2, tax_total = $3, total = $4, updated_at = now()"
        " where id = $1",
        invoice_id,
        totals.subtotal,
        totals.tax_total,
        totals.total,
    )
    return totals


async def next_number(tenant_id: UUID) -> int:
    """The tenant's next invoice number: one counter row per tenant, bumped atomically (the row
    lock holds until commit, so concurrent invoices queue up and numbers never repeat)."""
    number = await conn().fetchval(
        "insert into invoice_counters (tenant_id, last_number) values ($1, 1)"
        " on conflict (tenant_id) do update set last_number = invoice_counters.last_number + 1"
        " returning last_number",
        tenant_id,
    )
    return int(number)


async def create_invoice(current: Current, form: InvoiceForm) -> UUID:
    data, lines = _invoice_data(form), form.line_items()
    invoice_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        await _check_refs(data)
        number = await next_number(current.tenant_id)
        await c.execute(
            "insert into invoices (id, tenant_id, number, company_id, deal_id, currency,"
            " issue_date, due_date, notes, created_by)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            invoice_id,
            current.tenant_id,
            number,
            data["company_id"],
            data["deal_id"],
            data["currency"],
            data["issue_date"],
            data["due_date"],
            data["notes"],
            current.user_id,
        )
        totals = await _write_lines(current.tenant_id, invoice_id, lines)
        summary = f"created invoice {invoice_number(number)} ({totals.total} {data['currency']})"
        await record_activity(
            current.tenant_id, current.user_id, "invoice", invoice_id, "created", summary
        )
        await record_activity(
            current.tenant_id, current.user_id, "company", data["company_id"], "invoice", summary
        )
    return invoice_id


async def _locked(invoice_id: UUID) -> dict[str, Any]:
    row = await conn().fetchrow("select * from invoices where id = $1 for update", invoice_id)
    if row is None:
        raise RecordNotFound("invoice")
    return dict(row)


async def update_invoice(current: Current, invoice_id: UUID, form: InvoiceEdit) -> None:
    """Edit a draft made from version `form.version` (EditConflict when it moved on since;
    sent invoices are legal documents: void and reissue instead)."""
    data, lines = _invoice_data(form), form.line_items()
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        before = await _locked(invoice_id)
        if before["status"] != "draft":
            raise FormInvalid(
                {"form": "Only drafts can be edited. Void this invoice and issue a new one."}
            )
        await _check_refs(data)
        if before["version"] != form.version:
            raise await edit_conflict(
                "invoice",
                invoice_id,
                "invoice",
                await _as_read(before, before["total"]),
                await _as_read(data, compute_totals(lines).total),
                (*CONFLICT_FIELDS, "lines"),
                before["version"],
            )
        saved = await c.execute(
            "update invoices set company_id = $3, deal_id = $4, currency = $5, issue_date = $6,"
            " due_date = $7, notes = $8, version = version + 1 where id = $1 and version = $2",
            invoice_id,
            form.version,
            data["company_id"],
            data["deal_id"],
            data["currency"],
            data["issue_date"],
            data["due_date"],
            data["notes"],
        )
        if saved != "UPDATE 1":  # the row lock makes this unreachable; never say "saved"
            raise RecordNotFound("invoice")
        totals = await _write_lines(current.tenant_id, invoice_id, lines)
        changes = {}
        if before["total"] != totals.total:
            changes["total"] = {"from": str(before["total"]), "to": str(totals.total)}
        await record_activity(
            current.tenant_id,
            current.user_id,
            "invoice",
            invoice_id,
            "updated",
            "edited the draft",
            changes,
        )


async def change_status(current: Current, invoice_id: UUID, target: str, version: int) -> str:
    """Move an invoice along draft -> sent -> paid / overdue / void, if it is still the
    `version` the page showed (no sending a draft someone just changed); returns its number."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await _locked(invoice_id)
        if row["version"] != version:
            retry = "then choose the status again"
            raise await stale_page("invoice", invoice_id, "invoice", row["version"], retry)
        status = row["status"]
        if target not in TRANSITIONS.get(status, ()):
            raise FormInvalid({"status": f"A {status} invoice can't be marked as {target}."})
        if target == "overdue" and row["due_date"] >= date.today():
            raise FormInvalid({"status": "It isn't overdue yet: the due date hasn't passed."})
        stamp = {"sent": "sent_at", "paid": "paid_at", "void": "voided_at"}.get(target)
        extra = f", {stamp} = now()" if stamp else ""
        await c.execute(
            f"update invoices set status = $2, version = version + 1, updated_at = now(){extra}"
            " where id = $1",
            invoice_id,
            target,
        )
        number = invoice_number(row["number"])
        await record_activity(
            current.tenant_id,
            current.user_id,
            "invoice",
            invoice_id,
            "status",
            f"marked {number} as {target}",
            {"status": {"from": status, "to": target}},
        )
    return number


async def get_invoice(current: Current, invoice_id: UUID) -> dict[str, Any]:
    from app.crm.activity import timeline

    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "select i.*, co.name as company_name, co.address as company_address,"
            " co.domain as company_domain, d.title as deal_title, t.name as tenant_name"
            " from invoices i join companies co on co.id = i.company_id"
            " left join deals d on d.id = i.deal_id join tenants t on t.id = i.tenant_id"
            " where i.id = $1",
            invoice_id,
        )
        if row is None:
            raise RecordNotFound("invoice")
        lines = await c.fetch(
            "select * from invoice_lines where invoice_id = $1 order by position", invoice_id
        )
        history = await timeline("invoice", invoice_id)
    invoice = dict(row)
    invoice["lines"] = [dict(ln) for ln in lines]
    invoice["totals"] = compute_totals(
        Line(ln["description"], ln["quantity"], ln["unit_price"], ln["tax_rate"]) for ln in lines
    )
    invoice["label"] = invoice_number(row["number"])
    invoice["timeline"] = history
    invoice["next_statuses"] = TRANSITIONS[row["status"]]
    invoice["overdue_now"] = row["status"] == "sent" and row["due_date"] < date.today()
    return invoice


NEWEST_NUMBER = SortSpec("Newest first", ("i.number",), ("int",), descending=True)


async def list_invoices(
    current: Current, status: str = "", before: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest number first (keyset on number); returns the rows and the next page's cursor."""
    params = Params()
    where = [f"i.tenant_id = {params.add(current.tenant_id)}"]
    if status:
        where.append(f"i.status = {params.add(status)}")
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        page = await keyset_page(
            c,
            select="i.id, i.number, i.status, i.currency, i.total, i.due_date, i.issue_date,"
            " co.name as company_name",
            from_sql="invoices i join companies co on co.id = i.company_id",
            where=where,
            params=params,
            spec=NEWEST_NUMBER,
            after=before,
            limit=limit,
        )
    items = [r | {"label": invoice_number(r["number"])} for r in page.rows]
    return items, page.next_cursor


async def form_choices(current: Current) -> dict[str, Any]:
    """Companies and deals to pick from on the invoice form."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        companies = await c.fetch(
            "select id, name from companies order by lower(name), id limit 1000"
        )
        deals = await c.fetch("select id, title from deals order by lower(title), id limit 1000")
    return {
        "company_options": [(str(r["id"]), r["name"]) for r in companies],
        "deal_options": [(str(r["id"]), r["title"]) for r in deals],
        "currencies": CURRENCIES,
        "default_due": (date.today() + timedelta(days=30)).isoformat(),
    }


def as_form(invoice: dict[str, Any]) -> dict[str, str]:
    """An invoice's values as the edit form shows them."""
    values = form_values(invoice, ("version", *CONFLICT_FIELDS))
    for i, ln in enumerate(invoice["lines"]):
        values[f"line-{i}-description"] = ln["description"]
        values[f"line-{i}-quantity"] = f"{ln['quantity'].normalize():f}"
        values[f"line-{i}-unit_price"] = str(ln["unit_price"])
        values[f"line-{i}-tax_rate"] = f"{ln['tax_rate'].normalize():f}"
    return values
