"""Invoices: exact Decimal totals, per-tenant numbers, status workflow, bad input, isolation."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.core.db import tenant_transaction
from app.core.forms import parse_decimal
from app.invoices.money import Line, compute_totals, to_cents
from tests.crm.test_records import created_id, make_company
from tests.helpers import Account, version_on


def test_totals_are_exact_and_round_half_up() -> None:
    assert to_cents(Decimal("1.005")) == Decimal("1.01")  # banker's rounding would give 1.00
    assert to_cents(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    lines = [
        Line("Widgets", Decimal("3"), Decimal("0.335"), Decimal("19")),  # 1.005 -> 1.01
        Line("Consulting", Decimal("1.5"), Decimal("120.10"), Decimal("19")),  # 180.15
        Line("Books", Decimal("0.1"), Decimal("0.20"), Decimal("7")),  # 0.02
        Line("Export", Decimal("1"), Decimal("0.10"), Decimal("0")),
    ]
    totals = compute_totals(lines)
    assert totals.subtotal == Decimal("181.28")
    # tax per rate on that rate's net sum: 181.16 * 19% = 34.4204 -> 34.42; 0.02 * 7% -> 0.00
    assert totals.by_rate == [
        (Decimal("0"), Decimal("0.10"), Decimal("0.00")),
        (Decimal("7"), Decimal("0.02"), Decimal("0.00")),
        (Decimal("19"), Decimal("181.16"), Decimal("34.42")),
    ]
    assert totals.tax_total == Decimal("34.42") and totals.total == Decimal("215.70")
    assert parse_decimal("1 234,50") == Decimal("1234.50")
    assert parse_decimal("1,234.50") == Decimal("1234.50")
    for bad in ("NaN", "Infinity", "1e5", "12abc", "", "--1"):
        assert parse_decimal(bad) is None


def invoice_form(company: str, *lines: tuple[str, str, str, str], **extra: str) -> dict[str, str]:
    data = {
        "company_id": company,
        "currency": "EUR",
        "issue_date": date.today().isoformat(),
        "due_date": (date.today() + timedelta(days=14)).isoformat(),
        **extra,
    }
    for i, (description, quantity, price, tax) in enumerate(lines):
        data |= {
            f"line-{i}-description": description,
            f"line-{i}-quantity": quantity,
            f"line-{i}-unit_price": price,
            f"line-{i}-tax_rate": tax,
        }
    return data


async def make_invoice(client: Any, company: str, *lines: tuple[str, str, str, str]) -> str:
    response = await client.post_form("/invoices/new", invoice_form(company, *lines))
    return created_id(response, "invoices")


async def test_invoice_numbers_totals_and_print(client_a: Any, client_b: Any) -> None:
    company = await make_company(client_a, "Acme Anvils", address="1 Desert Road\nArizona")
    b_company = await make_company(client_b, "Wayne Enterprises")
    first = await make_invoice(
        client_a, company, ("Anvil", "0.335", "3", "19"), ("Rocket skates", "1.5", "120.10", "19")
    )
    second = await make_invoice(client_a, company, ("Bird seed", "2", "9.99", "7"))
    b_first = await make_invoice(client_b, b_company, ("Batarang", "10", "5", "20"))

    page = await client_a.get(f"/invoices/{first}")
    assert page.status_code == 200
    assert "INV-00001" in page.text and "Draft" in page.text
    assert re.search(r"invoice-subtotal\">181.16 EUR", page.text)
    assert re.search(r"invoice-tax\">34.42 EUR", page.text)
    assert re.search(r"invoice-total\">215.58 EUR", page.text)
    assert "INV-00002" in (await client_a.get(f"/invoices/{second}")).text
    assert "INV-00001" in (await client_b.get(f"/invoices/{b_first}")).text  # own sequence

    printable = await client_a.get(f"/invoices/{first}/print")
    assert printable.status_code == 200
    assert "/static/css/invoices.css" in printable.text and "1 Desert Road" in printable.text
    assert "Please pay 215.58 EUR" in printable.text
    css = await client_a.get("/static/css/invoices.css")
    assert css.status_code == 200 and "@media print" in css.text

    listing = await client_a.get("/invoices")
    assert "INV-00002" in listing.text and "Acme Anvils" in listing.text
    assert "Wayne" not in listing.text
    company_page = await client_a.get(f"/companies/{company}")
    assert (
        f"/invoices/{first}" in company_page.text
        and "created invoice INV-00001" in company_page.text
    )
    version = await version_on(client_a, f"/companies/{company}/delete")
    refused = await client_a.post_form(f"/companies/{company}/delete", {"version": version})
    assert refused.status_code == 422 and "invoices, which must be kept" in refused.text
    kept = await client_a.get(f"/companies/{company}")
    assert kept.status_code == 200

    # another tenant's ids are 404 everywhere
    for path in (f"/invoices/{first}", f"/invoices/{first}/print", f"/invoices/{first}/edit"):
        assert (await client_b.get(path)).status_code == 404
    assert (
        await client_b.post_form(f"/invoices/{first}/status", {"status": "void"})
    ).status_code == 404
    assert (await client_a.get(f"/invoices/{b_first}")).status_code == 404


async def test_status_transitions(client_a: Any, client_b: Any, tenant_a: Account) -> None:
    company = await make_company(client_a, "Stark Industries")
    await make_invoice(client_b, await make_company(client_b, "Oscorp"), ("Serum", "1", "1", "0"))
    invoice = await make_invoice(client_a, company, ("Arc reactor", "1", "1000", "19"))

    async def move(target: str, which: str = invoice) -> Any:
        """A status button, as on the page the invoice now shows (its current version)."""
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            version = await conn.fetchval(
                "select version from invoices where id = $1", uuid.UUID(which)
            )
        return await client_a.post_form(
            f"/invoices/{which}/status", {"status": target, "version": str(version)}
        )

    refused = await move("paid")
    assert (
        refused.status_code == 422
        and "A draft invoice can't be marked as paid." in html.unescape(refused.text)
    )
    assert (await move("sent")).status_code == 303
    not_yet = await move("overdue")
    assert not_yet.status_code == 422 and "isn't overdue yet" in html.unescape(not_yet.text)
    edit = await client_a.post_form(
        f"/invoices/{invoice}/edit",
        invoice_form(company, ("Arc reactor", "2", "1000", "19"), version="2"),
    )
    assert edit.status_code == 422 and "Only drafts can be edited." in edit.text
    assert (await move("paid")).status_code == 303
    for target in ("void", "sent", "draft", "nonsense"):
        response = await move(target)
        assert response.status_code == 422, target
    page = await client_a.get(f"/invoices/{invoice}")
    assert "Paid" in page.text and "marked INV-00001 as paid" in page.text
    assert "1,190.00 EUR" in page.text

    overdue = await make_invoice(client_a, company, ("Suit repair", "1", "50", "0"))
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update invoices set status = 'sent', issue_date = current_date - 40,"
            " due_date = current_date - 10 where id = $1",
            uuid.UUID(overdue),
        )
    marked = await move("overdue", overdue)
    assert marked.status_code == 303
    assert (await move("void", overdue)).status_code == 303
    assert "Void" in (await client_a.get(f"/invoices/{overdue}")).text


async def test_invoice_bad_input(client_a: Any, client_b: Any, tenant_a: Account) -> None:
    company = await make_company(client_a, "Cyberdyne")
    foreign = await make_company(client_b, "Tyrell Corp")
    good = ("Robot", "1", "100", "19")
    cases = [
        (invoice_form(company, ("Robot", "1", "-5", "19")), "Enter a price from 0"),
        (invoice_form(company, ("Robot", "10000000", "1", "19")), "Enter a quantity above 0"),
        (invoice_form(company, ("Robot", "0", "1", "19")), "Enter a quantity above 0"),
        (invoice_form(company, ("Robot", "1000000", "99999999", "19")), "amount is too large"),
        (
            invoice_form(company, *[("Robot", "1000", "9999999", "100")] * 10),
            "total is too large",
        ),
        (invoice_form(company, ("Robot", "1", "1.001", "19")), "at most 2 decimals"),
        (invoice_form(company, ("Robot", "1", "1e9", "19")), "Enter a price from 0"),
        (invoice_form(company, ("Robot", "1", "1", "150")), "Enter a tax rate from 0 to 100"),
        (invoice_form(company, ("", "1", "1", "19")), "Enter a description."),
        (invoice_form(company, ("x" * 2000, "1", "1", "19")), "at most 1000 characters"),
        (invoice_form(company, good, currency="XYZ"), "Choose one of EUR"),
        (invoice_form(company), "Add at least one line item."),
        (invoice_form(foreign, good), "Choose a company from your workspace."),
        (invoice_form(str(uuid.uuid4()), good), "Choose a company from your workspace."),
        (
            invoice_form(company, good, deal_id=str(uuid.uuid4())),
            "Choose a deal from your workspace.",
        ),
        (invoice_form(company, good, due_date="2000-01-01"), "can't be before the issue date"),
        (invoice_form(company, good, due_date="tomorrow"), "YYYY-MM-DD"),
    ]
    for data, message in cases:
        response = await client_a.post_form("/invoices/new", data, htmx=True)
        assert response.status_code == 422, (message, response.status_code)
        assert message in html.unescape(response.text), (message, response.text[:3000])
    assert "No invoices here yet" in (await client_a.get("/invoices")).text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from invoice_lines") == 0


async def test_overdue_job_marks_only_past_due_sent_invoices(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from app.invoices.jobs import mark_overdue_invoices

    company = await make_company(client_a, "Massive Dynamic")
    b_company = await make_company(client_b, "Hooli")
    late = await make_invoice(client_a, company, ("Research", "1", "10", "0"))
    on_time = await make_invoice(client_a, company, ("Research", "1", "10", "0"))
    draft_late = await make_invoice(client_a, company, ("Research", "1", "10", "0"))
    b_late = await make_invoice(client_b, b_company, ("Compression", "1", "10", "0"))
    for account, invoice, status in (
        (tenant_a, late, "sent"),
        (tenant_a, on_time, "sent"),
        (tenant_a, draft_late, "draft"),
        (tenant_b, b_late, "sent"),
    ):
        async with tenant_transaction(account.tenant_id) as conn:
            past = invoice != on_time
            await conn.execute(
                "update invoices set status = $2, issue_date = current_date - 40,"
                " due_date = current_date + case when $3 then -1 else 5 end where id = $1",
                uuid.UUID(invoice),
                status,
                past,
            )
    assert await mark_overdue_invoices() >= 2
    assert "Overdue" in (await client_a.get(f"/invoices/{late}")).text
    assert "due date passed" in (await client_a.get(f"/invoices/{late}")).text
    assert "Overdue" in (await client_b.get(f"/invoices/{b_late}")).text
    assert "Sent" in (await client_a.get(f"/invoices/{on_time}")).text
    assert "Draft" in (await client_a.get(f"/invoices/{draft_late}")).text
    assert await mark_overdue_invoices() == 0  # idempotent
