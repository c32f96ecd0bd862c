"""Invoice actions: create and edit drafts, numbers from a per-tenant counter, status workflow."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.crm import validation as v
from app.crm.activity import record_activity
from app.crm.common import conn
from app.invoices.money import (
    CURRENCIES,
    Line,
    Totals,
    compute_totals,
    parse_decimal,
    to_cents,
)
from app.invoices.schemas import MAX_LINES, TRANSITIONS, invoice_number

LINE_KEY = re.compile(r"^line-(\d{1,4})-")
QTY_MAX = Decimal(1_000_000)
LINE_MAX = Decimal("9999999999.99")  # numeric(14, 2) columns hold up to 999,999,999,999.99
TOTAL_MAX = Decimal("99999999999.99")
PRICE_MAX = Decimal(100_000_000)


def places(value: Decimal) -> int:
    """How many decimals `value` really has (1.50 has 1)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _line(values: dict[str, str], i: int, errors: dict[str, str]) -> Line | None:
    """Line `i` of the form; None when the row was left blank."""
    keys = ("description", "quantity", "unit_price", "tax_rate")
    raw = {k: values.get(f"line-{i}-{k}", "").strip() for k in keys}
    if not any(raw[k] for k in ("description", "quantity", "unit_price")):
        return None
    prefix = f"line-{i}-"
    description = v.text(
        raw["description"], errors, prefix + "description", "a description", 1000, required=True
    )
    quantity = parse_decimal(raw["quantity"] or "1")
    if quantity is None or not 0 < quantity <= QTY_MAX or places(quantity) > 3:
        errors[prefix + "quantity"] = "Enter a quantity above 0, with at most 3 decimals."
    price = parse_decimal(raw["unit_price"])
    if price is None or not 0 <= price <= PRICE_MAX or places(price) > 2:
        errors[prefix + "unit_price"] = (
            "Enter a price from 0 to 100,000,000 with at most 2 decimals."
        )
    rate = parse_decimal(raw["tax_rate"] or "0")
    if rate is None or not 0 <= rate <= 100 or places(rate) > 2:
        errors[prefix + "tax_rate"] = "Enter a tax rate from 0 to 100 (percent)."
    if any(k.startswith(prefix) for k in errors):
        return None
    assert quantity is not None and price is not None
    if to_cents(quantity * price) > LINE_MAX:
        errors[prefix + "quantity"] = "This line's amount is too large (over 10 billion)."
        return None
    assert (
        description is not None and quantity is not None and price is not None and rate is not None
    )
    return Line(description, quantity, price, rate)


def clean_invoice(values: dict[str, str]) -> tuple[dict[str, Any], list[Line]]:
    """Validated invoice fields and lines from the form; FormInvalid lists every problem."""
    errors: dict[str, str] = {}
    company = v.optional_uuid(values.get("company_id"), errors, "company_id", "Choose a company.")
    if company is None and "company_id" not in errors:
        errors["company_id"] = "Choose a company."
    deal = v.optional_uuid(
        values.get("deal_id"), errors, "deal_id", "Choose a deal of this company."
    )
    currency = values.get("currency", "EUR").strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = f"Choose one of {', '.join(CURRENCIES)}."
    issue = v.optional_date(values.get("issue_date"), errors, "issue_date", "the issue date")
    due = v.optional_date(values.get("due_date"), errors, "due_date", "the due date")
    issue = issue or date.today()
    if due is None and "due_date" not in errors:
        errors["due_date"] = "Enter the due date."
    elif due is not None and due < issue:
        errors["due_date"] = "The due date can't be before the issue date."
    notes = v.text(values.get("notes"), errors, "notes", "the notes", 5000, multiline=True)
    lines: list[Line] = []
    indices = sorted({int(m.group(1)) for k in values if (m := LINE_KEY.match(k))})
    if len(indices) > MAX_LINES + 10:  # room for the form's blank rows
        errors["lines"] = f"An invoice can have at most {MAX_LINES} lines."
        indices = []
    for i in indices:
        line = _line(values, i, errors)
        if line is not None:
            lines.append(line)
    if lines and compute_totals(lines).total > TOTAL_MAX:
        errors["lines"] = "The invoice total is too large (over 100 billion)."
    if len(lines) > MAX_LINES:
        errors["lines"] = f"An invoice can have at most {MAX_LINES} lines."
    if not lines and not any(k.startswith("line-") for k in errors) and "lines" not in errors:
        errors["lines"] = "Add at least one line item."
    if errors:
        raise FormInvalid(errors)
    data = {
        "company_id": company,
        "deal_id": deal,
        "currency": currency,
        "issue_date": issue,
        "due_date": due,
        "notes": notes or "",
    }
    return data, lines


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


async def create_invoice(current: Current, values: dict[str, str]) -> UUID:
    data, lines = clean_invoice(values)
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


async def update_invoice(current: Current, invoice_id: UUID, values: dict[str, str]) -> None:
    """Edit a draft (sent invoices are legal documents: void and reissue instead)."""
    data, lines = clean_invoice(values)
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        before = await _locked(invoice_id)
        if before["status"] != "draft":
            raise FormInvalid(
                {"form": "Only drafts can be edited. Void this invoice and issue a new one."}
            )
        await _check_refs(data)
        await c.execute(
            "update invoices set company_id = $2, deal_id = $3, currency = $4, issue_date = $5,"
            " due_date = $6, notes = $7 where id = $1",
            invoice_id,
            data["company_id"],
            data["deal_id"],
            data["currency"],
            data["issue_date"],
            data["due_date"],
            data["notes"],
        )
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


async def change_status(current: Current, invoice_id: UUID, target: str) -> str:
    """Move an invoice along draft -> sent -> paid / overdue / void; returns its number."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        row = await _locked(invoice_id)
        status = row["status"]
        if target not in TRANSITIONS.get(status, ()):
            raise FormInvalid({"status": f"A {status} invoice can't be marked as {target}."})
        if target == "overdue" and row["due_date"] >= date.today():
            raise FormInvalid({"status": "It isn't overdue yet: the due date hasn't passed."})
        stamp = {"sent": "sent_at", "paid": "paid_at", "void": "voided_at"}.get(target)
        extra = f", {stamp} = now()" if stamp else ""
        await c.execute(
            f"update invoices set status = $2, updated_at = now(){extra} where id = $1",
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


async def list_invoices(
    current: Current, status: str = "", before_number: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest number first (keyset on number); returns the rows and the next page's key."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await c.fetch(
            "select i.id, i.number, i.status, i.currency, i.total, i.due_date, i.issue_date,"
            " co.name as company_name from invoices i join companies co on co.id = i.company_id"
            " where i.tenant_id = $1 and ($2 = '' or i.status = $2)"
            " and ($3::int is null or i.number < $3) order by i.number desc limit $4",
            current.tenant_id,
            status,
            before_number,
            limit + 1,
        )
    items = [dict(r) | {"label": invoice_number(r["number"])} for r in rows[:limit]]
    return items, (items[-1]["number"] if len(rows) > limit else None)


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
    values = {
        "company_id": str(invoice["company_id"]),
        "deal_id": str(invoice["deal_id"] or ""),
        "currency": invoice["currency"],
        "issue_date": invoice["issue_date"].isoformat(),
        "due_date": invoice["due_date"].isoformat(),
        "notes": invoice["notes"],
    }
    for i, ln in enumerate(invoice["lines"]):
        values[f"line-{i}-description"] = ln["description"]
        values[f"line-{i}-quantity"] = f"{ln['quantity'].normalize():f}"
        values[f"line-{i}-unit_price"] = str(ln["unit_price"])
        values[f"line-{i}-tax_rate"] = f"{ln['tax_rate'].normalize():f}"
    return values
