"""Invoice actions: create and edit drafts, numbers from a per-tenant counter, status workflow."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.crypto import decrypt_list
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms.values import form_data, form_values
from app.core.mail import queue_mail
from app.core.mail_attachments import Attachment
from app.core.money import amount
from app.core.paging import Params, SortSpec, keyset_page
from app.core.templating import render_html
from app.crm.activity import edit_conflict, record_activity, stale_page, timeline
from app.crm.common import conn
from app.crm.secure import contact_binding
from app.invoices.money import CURRENCIES, Line, Totals, compute_totals
from app.invoices.pdf import html_to_pdf
from app.invoices.schemas import (
    TRANSITIONS,
    InvoiceEdit,
    InvoiceForm,
    SendForm,
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
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await c.fetchrow(
            "select i.*, co.name as company_name, co.address as company_address,"
            " co.domain as company_domain, d.title as deal_title, t.name as tenant_name,"
            " coalesce(s.legal_name, '') as seller_legal_name,"
            " coalesce(s.address, '') as seller_address, coalesce(s.vat_id, '') as seller_vat_id,"
            " coalesce(s.payment_details, '') as seller_payment_details,"
            " coalesce(s.invoice_footer, '') as seller_footer"
            " from invoices i join companies co on co.id = i.company_id"
            " left join deals d on d.id = i.deal_id join tenants t on t.id = i.tenant_id"
            " left join seller_details s on s.tenant_id = i.tenant_id"
            " where i.id = $1",
            invoice_id,
        )
        if row is None:
            raise RecordNotFound("invoice")
        lines = await c.fetch(
            "select * from invoice_lines where invoice_id = $1 order by position", invoice_id
        )
        history = await timeline("invoice", invoice_id)
        sends = await c.fetch(
            "select s.created_at, s.to_addr, s.subject, u.name as sender, o.sent_at,"
            " o.failed_at, o.last_error, o.attempts, o.id as outbox_row"
            " from invoice_sends s left join users u on u.id = s.sent_by"
            " left join outbox o on o.id = s.outbox_id"
            " where s.invoice_id = $1 order by s.created_at desc limit 50",
            invoice_id,
        )
    invoice = dict(row)
    invoice["seller_name"] = invoice["seller_legal_name"] or invoice["tenant_name"]
    invoice["sends"] = [dict(r) | {"state": send_state(dict(r))} for r in sends]
    invoice["lines"] = [dict(ln) for ln in lines]
    invoice["totals"] = compute_totals(
        Line(ln["description"], ln["quantity"], ln["unit_price"], ln["tax_rate"]) for ln in lines
    )
    invoice["label"] = invoice_number(row["number"])
    invoice["timeline"] = history
    invoice["next_statuses"] = TRANSITIONS[row["status"]]
    invoice["overdue_now"] = row["status"] == "sent" and row["due_date"] < date.today()
    invoice["payment_note"] = payment_note(invoice)
    return invoice


def send_state(send: dict[str, Any]) -> str:
    """What became of an emailed invoice, from its outbox mail."""
    if send["outbox_row"] is None:
        return "no longer tracked"
    if send["sent_at"] is not None:
        return "delivered"
    if send["failed_at"] is not None:
        return f"failed: {send['last_error'] or 'not delivered'}"
    return "retrying" if send["attempts"] else "queued"


def _day(value: date | datetime) -> str:
    return value.strftime("%d %B %Y")


def payment_note(invoice: dict[str, Any]) -> str:
    """The sentence about payment that the invoice page, print page, PDF and mail carry."""
    status = invoice["status"]
    amount = f"{invoice['total']:,.2f} {invoice['currency']}"
    if status == "paid":
        paid = invoice.get("paid_at")
        return f"Paid on {_day(paid)}, thank you." if paid else "Paid, thank you."
    if status == "void":
        return "This invoice was cancelled: nothing is to be paid."
    due = invoice["due_date"]
    if status == "overdue" or (status == "sent" and due < date.today()):
        return (
            f"Overdue since {_day(due + timedelta(days=1))}: please pay {amount} now,"
            f" quoting {invoice['label']}."
        )
    return f"Please pay {amount} by {_day(due)}, quoting {invoice['label']}."


def send_defaults(invoice: dict[str, Any], to_addr: str) -> dict[str, str]:
    """What the send form starts with."""
    subject = f"Invoice {invoice['label']} from {invoice['seller_name']}"
    if invoice["status"] == "void":
        subject = f"Cancelled: invoice {invoice['label']} from {invoice['seller_name']}"
    message = (
        f"Hello,\n\nplease find attached invoice {invoice['label']} for"
        f" {invoice['total']:,.2f} {invoice['currency']}.\n\n{invoice['payment_note']}"
        f"\n\nKind regards,\n{invoice['seller_name']}"
    )
    return {
        "to": to_addr,
        "subject": subject[:200],
        "message": message,
        "version": str(invoice["version"]),
    }


async def customer_email(current: Current, company_id: UUID) -> str:
    """The first email address of the billed company's contacts (oldest contact first), or ""."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select id, emails_enc from contacts where company_id = $1"
            " and cardinality(emails_enc) > 0 order by created_at, id limit 5",
            company_id,
        )
    for row in rows:
        try:
            emails = decrypt_list(
                row["emails_enc"], contact_binding("emails_enc", current.tenant_id, row["id"])
            )
        except Exception:  # noqa: S112 - an undecryptable address is simply not offered
            continue
        if emails:
            return emails[0]
    return ""


async def render_pdf(invoice: dict[str, Any]) -> bytes:
    """The invoice's PDF: the print page's template, rendered without network access."""
    return await html_to_pdf(render_html("invoices/print.html", {"invoice": invoice, "pdf": True}))


MAX_SENDS_PER_DAY = 20


async def send_invoice(current: Current, invoice_id: UUID, form: SendForm) -> str:
    """Email the invoice with its PDF to `form.to` through the outbox; a draft becomes sent.
    Refused when the invoice changed since the page was shown; returns the invoice number."""
    invoice = await get_invoice(current, invoice_id)
    if invoice["version"] != form.version:
        async with tenant_transaction(current.tenant_id, current.user_id):
            raise await stale_page(
                "invoice", invoice_id, "invoice", invoice["version"], "then send it again"
            )
    was_draft = invoice["status"] == "draft"
    if was_draft:  # what the customer gets is the sent invoice, not the draft
        invoice = {**invoice, "status": "sent", "sent_at": datetime.now(UTC)}
        invoice["payment_note"] = payment_note(invoice)
    pdf = await render_pdf(invoice)
    label = invoice["label"]
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await _locked(invoice_id)
        if row["version"] != form.version:
            raise await stale_page(
                "invoice", invoice_id, "invoice", row["version"], "then send it again"
            )
        recent = await c.fetchval(
            "select count(*) from invoice_sends where invoice_id = $1"
            " and created_at > now() - interval '1 day'",
            invoice_id,
        )
        if recent >= MAX_SENDS_PER_DAY:
            raise FormInvalid(
                {"form": f"{label} was emailed {recent} times today. Try again tomorrow."}
            )
        if was_draft:
            await c.execute(
                "update invoices set status = 'sent', sent_at = now(), version = version + 1,"
                " updated_at = now() where id = $1",
                invoice_id,
            )
            await record_activity(
                current.tenant_id,
                current.user_id,
                "invoice",
                invoice_id,
                "status",
                f"marked {label} as sent",
                {"status": {"from": "draft", "to": "sent"}},
            )
        outbox_id = await queue_mail(
            "invoice",
            form.to,
            form.subject,
            "invoice.txt",
            attachments=[Attachment(f"{label}.pdf", "application/pdf", pdf)],
            message=form.message,
        )
        await c.execute(
            "insert into invoice_sends (id, tenant_id, invoice_id, sent_by, to_addr, subject,"
            " outbox_id) values ($1, $2, $3, $4, $5, $6, $7)",
            uuid.uuid4(),
            current.tenant_id,
            invoice_id,
            current.user_id,
            form.to,
            form.subject,
            outbox_id,
        )
        await record_activity(
            current.tenant_id,
            current.user_id,
            "invoice",
            invoice_id,
            "emailed",
            f"emailed {label} with its PDF to the customer",
        )
    return label


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
