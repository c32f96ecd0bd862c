"""Invoices that leave the app: seller details, dynamic line rows, the PDF, email to the customer
with the PDF attached (through the outbox), status-aware wording, the record of each send."""

from __future__ import annotations

import html
import io
import re
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from app.core.db import global_transaction, tenant_transaction
from app.invoices.pdf import BASE_URL, static_file
from app.settings import get_settings
from tests.crm.test_records import make_company, make_contact
from tests.helpers import Account, browser_client, run_jobs
from tests.invoices.test_invoices import invoice_form, make_invoice
from tests.security.helpers import add_member

SELLER = {
    "legal_name": "Acme Anvils GmbH",
    "address": "1 Desert Road\n12345 Arizona",
    "vat_id": "DE123456789",
    "payment_details": "IBAN DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX",
    "invoice_footer": "Registered in Springfield, HRB 42",
}


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF"), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


async def seller_version(client: Any) -> str:
    """The version the seller form carries (not another form's, such as a policy banner's)."""
    page = await client.get("/settings/company")
    match = re.search(r'id="seller-form".*?name="version" value="(\d+)"', page.text, re.S)
    assert match, page.text[:2000]
    return match.group(1)


async def set_seller(client: Any, **values: str) -> Any:
    version = await seller_version(client)
    return await client.post_form(
        "/settings/company/seller", {**SELLER, **values, "version": version}
    )


async def version_of(account: Account, invoice: str) -> str:
    async with tenant_transaction(account.tenant_id) as conn:
        return str(
            await conn.fetchval("select version from invoices where id = $1", uuid.UUID(invoice))
        )


async def test_seller_details_validated_versioned_and_printed(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    page = await client_a.get("/settings/company")
    assert page.status_code == 200 and 'action="/settings/company/seller"' in page.text
    hostile = [
        ({"legal_name": "Acme\x00GmbH"}, "legal_name", "invisible control character"),
        ({"address": "x" * 100_000}, "address", "at most 1000 characters"),
        ({"payment_details": "y" * 100_000}, "payment_details", "at most 1000 characters"),
        ({"invoice_footer": "thanks\x1b[31m"}, "invoice_footer", "invisible control character"),
        ({"vat_id": "DE<script>"}, "vat_id", "letters, digits, spaces"),
        ({"vat_id": "D" * 41}, "vat_id", "at most 40 characters"),
    ]
    for values, field, message in hostile:
        response = await set_seller(client_a, **values)
        assert response.status_code == 422, (field, response.status_code)
        assert message in html.unescape(response.text), (field, response.text[:2000])
    htmx = await client_a.post_form(
        "/settings/company/seller",
        {**SELLER, "legal_name": "\x00", "version": "1"},
        htmx=True,
    )
    assert htmx.status_code == 422 and 'id="seller-form"' in htmx.text
    assert "<html" not in htmx.text  # the form alone, swapped in place

    stale = await seller_version(client_a)
    saved = await set_seller(client_a)
    assert saved.status_code == 303, html.unescape(saved.text)[:3000]
    again = await client_a.post_form("/settings/company/seller", {**SELLER, "version": stale})
    assert again.status_code == 422 and "Someone changed the seller details" in again.text
    shown = await client_a.get("/settings/company")
    assert "DE123456789" in shown.text and "Acme Anvils GmbH" in shown.text

    # a member can't change them; another workspace never sees them
    member = await add_member(tenant_a)
    async with browser_client(client_a._transport.app) as mc:
        await mc.login(member.email, member.password)
        refused = await mc.post_form("/settings/company/seller", {**SELLER, "version": "2"})
        assert refused.status_code in (403, 404)
    assert "Acme Anvils GmbH" not in (await client_b.get("/settings/company")).text

    company = await make_company(client_a, "Roadrunner Ltd", address="Canyon 7")
    invoice = await make_invoice(client_a, company, ("Anvil", "1", "100", "19"))
    detail = await client_a.get(f"/invoices/{invoice}")
    assert "DE123456789" in detail.text and "Acme Anvils GmbH" in detail.text
    printable = await client_a.get(f"/invoices/{invoice}/print")
    for text in ("Acme Anvils GmbH", "DE123456789", "1 Desert Road", "IBAN DE89", "HRB 42"):
        assert text in printable.text, text
    b_invoice = await make_invoice(
        client_b, await make_company(client_b, "Coyote Inc"), ("Rocket", "1", "1", "0")
    )
    b_print = await client_b.get(f"/invoices/{b_invoice}/print")
    assert "DE123456789" not in b_print.text and tenant_b.company in b_print.text
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from seller_details") == 0


async def test_dynamic_line_rows(client_a: Any, client_b: Any, tenant_a: Account) -> None:
    company = await make_company(client_a, "Rows Inc")
    new = await client_a.get("/invoices/new")
    assert 'name="line-0-description"' in new.text and 'name="line-1-description"' not in new.text
    assert 'src="/static/js/invoice-lines.js"' in new.text and 'name="add_line"' in new.text
    assert "<script>" not in new.text  # no inline script (CSP)
    js = await client_a.get("/static/js/invoice-lines.js")
    assert js.status_code == 200 and "data-add-line" in js.text

    # without JavaScript: "Add line" and "Remove" come back as the form with a row more or less
    one = invoice_form(company, ("Anvil", "1", "10", "19"))
    added = await client_a.post_form("/invoices/new", {**one, "add_line": "1"})
    assert added.status_code == 200 and 'name="line-1-description"' in added.text
    assert 'value="Anvil"' in added.text
    two = invoice_form(company, ("Anvil", "1", "10", "19"), ("Rope", "2", "3", "0"))
    removed = await client_a.post_form("/invoices/new", {**two, "remove_line": "0"})
    assert removed.status_code == 200
    assert re.search(r'name="line-0-description" value="Rope"', removed.text)
    assert 'name="line-1-description"' not in removed.text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from invoices") == 0  # nothing saved

    lines = [(f"Item {i}", "1", "1.50", "19") for i in range(100)]
    many = await make_invoice(client_a, company, *lines)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        count = await conn.fetchval(
            "select count(*) from invoice_lines where invoice_id = $1", uuid.UUID(many)
        )
    assert count == 100
    edit = await client_a.get(f"/invoices/{many}/edit")
    assert 'name="line-99-description"' in edit.text and "line-100-" not in edit.text
    too_many = await client_a.post_form(
        "/invoices/new", invoice_form(company, *lines, ("One more", "1", "1", "0"))
    )
    assert too_many.status_code == 422
    assert "at most 100 lines" in html.unescape(too_many.text)
    flood = invoice_form(company, *[(f"x{i}", "1", "1", "0") for i in range(200)])
    refused = await client_a.post_form("/invoices/new", flood)
    assert refused.status_code == 422 and "at most 100 rows" in html.unescape(refused.text)
    # another workspace's draft can't be edited through the row buttons either
    assert (
        await client_b.post_form(f"/invoices/{many}/edit", {**one, "add_line": "1"})
    ).status_code == 404


def test_pdf_fetches_only_static_files() -> None:
    assert static_file(BASE_URL + "static/css/invoices.css") is not None
    for url in (
        "http://example.com/static/css/invoices.css",
        "file:///etc/passwd",
        BASE_URL + "static/../app/settings.py",
        BASE_URL + "static/%2e%2e/pyproject.toml",
        BASE_URL + "invoices/1",
        "data:text/css,body{}",
    ):
        assert static_file(url) is None, url


async def test_pdf_matches_status_and_is_tenant_scoped(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    assert (await set_seller(client_a)).status_code == 303
    company = await make_company(client_a, "Wile E. Coyote", address="Mesa 3")
    invoice = await make_invoice(client_a, company, ("Giant magnet", "2", "49.95", "19"))
    b_invoice = await make_invoice(
        client_b, await make_company(client_b, "Other Co"), ("X", "1", "1", "0")
    )
    response = await client_a.get(f"/invoices/{invoice}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="INV-00001.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    for expected in ("INV-00001", "DE123456789", "Acme Anvils GmbH", "Wile E. Coyote", "118.88"):
        assert expected in text, (expected, text)
    assert "Please pay 118.88 EUR" in text and "DRAFT" in text

    assert (await client_b.get(f"/invoices/{invoice}.pdf")).status_code == 404
    assert (await client_a.get(f"/invoices/{b_invoice}.pdf")).status_code == 404
    assert (await client_a.get(f"/invoices/{uuid.uuid4()}.pdf")).status_code == 404

    for target in ("sent", "paid"):
        moved = await client_a.post_form(
            f"/invoices/{invoice}/status",
            {"status": target, "version": await version_of(tenant_a, invoice)},
        )
        assert moved.status_code == 303
    paid = pdf_text((await client_a.get(f"/invoices/{invoice}.pdf")).content)
    assert "Paid on" in paid and "thank you" in paid and "Please pay" not in paid
    page = await client_a.get(f"/invoices/{invoice}")
    assert "Paid on" in page.text and "Please pay" not in page.text
    printable = await client_a.get(f"/invoices/{invoice}/print")
    assert "Paid on" in printable.text and "Please pay" not in printable.text

    void = await make_invoice(client_a, company, ("Rocket skates", "1", "10", "0"))
    await client_a.post_form(
        f"/invoices/{void}/status", {"status": "void", "version": await version_of(tenant_a, void)}
    )
    assert "This invoice was cancelled" in pdf_text(
        (await client_a.get(f"/invoices/{void}.pdf")).content
    )
    late = await make_invoice(client_a, company, ("Bird seed", "1", "5", "0"))
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update invoices set status = 'overdue', issue_date = current_date - 40,"
            " due_date = current_date - 10 where id = $1",
            uuid.UUID(late),
        )
    assert "Overdue since" in pdf_text((await client_a.get(f"/invoices/{late}.pdf")).content)


def attachments_of(message: Message) -> list[tuple[str, str, bytes]]:
    found = []
    for part in message.walk():
        if part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append((part.get_filename() or "", part.get_content_type(), payload))
    return found


async def test_member_emails_the_invoice_with_its_pdf(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, mailbox: Any
) -> None:
    assert (await set_seller(client_a)).status_code == 303
    company = await make_company(client_a, "Globex")
    for n in range(5):  # older contacts without an address are passed over, however many
        await make_contact(client_a, "Nomail", f"Contact{n}", company_id=company)
    customer = f"billing-{uuid.uuid4().hex[:8]}@globex.example"
    await make_contact(client_a, "Hank", "Scorpio", emails=customer, company_id=company)
    invoice = await make_invoice(client_a, company, ("Doomsday device", "1", "1000", "19"))
    b_invoice = await make_invoice(
        client_b, await make_company(client_b, "Initech"), ("TPS report", "1", "1", "0")
    )

    member = await add_member(tenant_a)
    async with browser_client(app) as mc:
        await mc.login(member.email, member.password)
        page = await mc.get(f"/invoices/{invoice}")
        assert page.status_code == 200 and 'action="/invoices/' in page.text
        assert f'value="{customer}"' in page.text  # the company's contact's address
        assert "Please pay 1,190.00 EUR" in html.unescape(page.text)
        version = await version_of(tenant_a, invoice)
        form = {
            "to": customer,
            "subject": "Invoice INV-00001 from Acme Anvils GmbH",
            "message": "Hello Hank,\n\nyour invoice is attached. Please pay by the due date.",
            "version": version,
        }
        bad = await mc.post_form(f"/invoices/{invoice}/send", {**form, "to": "not-an-address"})
        assert bad.status_code == 422 and "valid email address" in bad.text
        nul = await mc.post_form(f"/invoices/{invoice}/send", {**form, "message": "a\x00b"})
        assert nul.status_code == 422 and "control character" in nul.text
        huge = await mc.post_form(f"/invoices/{invoice}/send", {**form, "subject": "s" * 100_000})
        assert huge.status_code == 422 and "at most 200 characters" in huge.text
        assert (await mc.post_form(f"/invoices/{invoice}/send", form)).status_code == 303
        stale = await mc.post_form(f"/invoices/{invoice}/send", form)  # the draft moved on
        assert stale.status_code in (409, 422) and "changed this invoice" in html.unescape(
            stale.text
        )
        # another workspace's invoice: 404, nothing queued
        foreign = await mc.post_form(f"/invoices/{b_invoice}/send", {**form, "version": "1"})
        assert foreign.status_code == 404
    assert (
        await client_b.post_form(f"/invoices/{invoice}/send", {**form, "version": "2"})
    ).status_code == 404

    async with tenant_transaction(tenant_a.tenant_id) as conn:
        row = await conn.fetchrow(
            "select status, version from invoices where id = $1", uuid.UUID(invoice)
        )
        send = await conn.fetchrow(
            "select * from invoice_sends where invoice_id = $1", uuid.UUID(invoice)
        )
    assert row["status"] == "sent" and send["sent_by"] == member.user_id
    assert send["to_addr"] == customer
    async with global_transaction() as conn:
        outbox = await conn.fetchrow("select * from outbox where id = $1", send["outbox_id"])
    assert outbox["workspace_id"] == tenant_a.tenant_id and outbox["sent_at"] is None
    stored = Path(get_settings().data_dir) / re.search(
        r'"path": "([^"]+)"', outbox["attachments"]
    ).group(1)
    assert stored.is_file() and stored.read_bytes().startswith(b"%PDF")
    queued = await client_a.get(f"/invoices/{invoice}")
    assert "queued" in queued.text or "delivered" in queued.text

    await run_jobs()
    mails = mailbox.to(customer)
    assert len(mails) == 1 and mails[0]["Subject"] == form["subject"]
    files = attachments_of(mails[0])
    assert [(name, kind) for name, kind, _ in files] == [("INV-00001.pdf", "application/pdf")]
    text = pdf_text(files[0][2])
    assert "INV-00001" in text and "DE123456789" in text and "DRAFT" not in text
    assert "Please pay 1,190.00 EUR" in text
    body = next(p for p in mails[0].walk() if p.get_content_type() == "text/plain")
    assert "your invoice is attached" in str(body.get_payload(decode=True).decode())
    assert not stored.exists()  # sent: the attachment's file is gone

    shown = await client_a.get(f"/invoices/{invoice}")
    assert re.search(r'class="send-state">delivered<', shown.text)
    assert customer in shown.text and "emailed INV-00001 with its PDF" in shown.text
    assert "marked INV-00001 as sent" in shown.text
    assert customer not in (await client_b.get("/invoices")).text

    # the dev mailbox lists the attachment and opens it
    async with browser_client(app) as anyone:
        box = await anyone.get("/dev/mailbox")
        link = re.search(r'href="(/dev/mailbox/\d+/0)"[^>]*>INV-00001.pdf<', box.text)
        assert link, box.text[:3000]
        opened = await anyone.get(link.group(1))
        assert opened.status_code == 200 and opened.content.startswith(b"%PDF")
        assert opened.headers["content-type"] == "application/pdf"
        for bad_link in (
            "/dev/mailbox/../../etc/0",
            "/dev/mailbox/123/0",
            link.group(1)[:-1] + "9",
        ):
            assert (await anyone.get(bad_link)).status_code == 404


async def test_send_record_erased_with_the_contact_address(
    client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    from app.core.datamap import ContactRef, place

    company = await make_company(client_a, "Erasure Co")
    invoice = await make_invoice(client_a, company, ("Thing", "1", "1", "0"))
    address = f"pay-{uuid.uuid4().hex[:8]}@erasure.example"
    sent = await client_a.post_form(
        f"/invoices/{invoice}/send",
        {
            "to": address,
            "subject": "Invoice",
            "message": "Attached.",
            "version": await version_of(tenant_a, invoice),
        },
    )
    assert sent.status_code == 303
    ref = ContactRef(tenant_a.tenant_id, uuid.uuid4(), "Pay", "Er", (address,), ())
    erase = place("table:invoice_sends").erase
    assert erase is not None and await erase(ref) == 1
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select to_addr from invoice_sends") == "[erased]"
    outbox = place("table:outbox").erase
    assert outbox is not None and await outbox(ref) == 1  # delivered, then deleted
    async with global_transaction() as conn:
        assert not await conn.fetchval("select count(*) from outbox where to_addr = $1", address)
    assert mailbox.to(address)  # the customer got it before it went
    await run_jobs()
