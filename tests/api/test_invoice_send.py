"""POST /api/v1/invoices/{id}/send: the invoice page's email through the API (the PDF through
the outbox, a send record, draft → sent, timeline and audit, the token's scope, another
workspace's ids, stale versions, the send limits as 429 with Retry-After)."""

from __future__ import annotations

import uuid
from typing import Any

from app.api.docs import openapi_document
from app.core import ratelimit
from app.core.db import tenant_transaction
from app.invoices.services import MAX_SENDS_PER_DAY, SENDS_PER_USER
from tests.api.helpers import READ_ONLY, api_client, is_problem, token_for
from tests.helpers import Account, Mailbox, run_jobs
from tests.invoices.test_invoice_documents import attachments_of, pdf_text


async def _billed_draft(api: Any, company: str, customer: str | None) -> dict[str, Any]:
    """A company with a contact who pays (when `customer`), and a draft invoice for it."""
    made = (await api.post("/api/v1/companies", json={"name": company})).json()
    if customer:
        contact = {"first_name": "Hank", "last_name": "Scorpio", "emails": [customer]}
        added = await api.post("/api/v1/contacts", json={**contact, "company_id": made["id"]})
        assert added.status_code == 201, added.text
    body = {
        "company_id": made["id"],
        "due_date": "2030-02-01",
        "lines": [{"description": "Doomsday device", "unit_price": "1000", "tax_rate": "19"}],
    }
    invoice = await api.post("/api/v1/invoices", json=body)
    assert invoice.status_code == 201, invoice.text
    return dict(invoice.json())


def _customer() -> str:
    return f"billing-{uuid.uuid4().hex[:8]}@globex.example"


async def test_api_emails_the_invoice_with_its_pdf(
    app: Any, tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    async with api_client(app, await token_for(tenant_b)) as api_b:
        b_invoice = await _billed_draft(api_b, "Initech", _customer())
    customer, other = _customer(), _customer()
    async with api_client(app, await token_for(tenant_a)) as api:
        invoice = await _billed_draft(api, "Globex", customer)
        base = f"/api/v1/invoices/{invoice['id']}"
        # no body: to the company's contact, with the page's subject and message
        sent = await api.post(f"{base}/send", headers={"If-Match": '"1"'})
        assert sent.status_code == 202, sent.text
        record = sent.json()
        assert record["to"] == customer and record["invoice_id"] == invoice["id"]
        assert record["subject"].startswith(f"Invoice {invoice['number']} from")
        assert record["state"] == "queued"
        assert record["invoice_status"] == "sent" and record["invoice_version"] == 2
        # the draft moved on when it was sent: the version read is stale
        stale = await api.post(f"{base}/send", json={"version": 1})
        assert is_problem(stale, 409)["version"] == 2
        # a recipient, subject and message of the caller's own; a sent invoice stays sent
        override = {"to": other, "subject": "Your invoice", "message": "Hi,\n\nattached."}
        again = await api.post(f"{base}/send", json={**override, "version": 2})
        assert again.status_code == 202, again.text
        assert again.json()["to"] == other and again.json()["invoice_version"] == 2
        # another workspace's invoice is not there
        is_problem(await api.post(f"/api/v1/invoices/{b_invoice['id']}/send", json={}), 404)
        is_problem(await api.post(f"/api/v1/invoices/{uuid.uuid4()}/send", json={}), 404)
    async with api_client(app, await token_for(tenant_b)) as api_b:
        is_problem(await api_b.post(f"{base}/send", json={"version": 2}), 404)
        untouched = (await api_b.get(f"/api/v1/invoices/{b_invoice['id']}")).json()
        assert untouched["status"] == "draft" and untouched["version"] == 1

    await run_jobs()
    mails = mailbox.to(customer)
    assert len(mails) == 1 and mails[0]["Subject"] == record["subject"]
    files = attachments_of(mails[0])
    label = invoice["number"]
    assert [(name, kind) for name, kind, _ in files] == [(f"{label}.pdf", "application/pdf")]
    text = pdf_text(files[0][2])
    assert label in text and "DRAFT" not in text and "Please pay 1,190.00 EUR" in text
    theirs = mailbox.to(other)
    assert len(theirs) == 1 and theirs[0]["Subject"] == "Your invoice"
    body = next(p for p in theirs[0].walk() if p.get_content_type() == "text/plain")
    assert "attached." in str(body.get_payload(decode=True).decode())
    assert not mailbox.to(customer)[0]["To"].endswith("initech.example")

    async with api_client(app, await token_for(tenant_a)) as api:
        shown = (await api.get(base)).json()
        assert shown["status"] == "sent" and shown["version"] == 2
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        sends = await conn.fetch(
            "select s.to_addr, o.sent_at from invoice_sends s join outbox o on o.id = s.outbox_id"
            " where s.invoice_id = $1 order by s.created_at",
            uuid.UUID(invoice["id"]),
        )
        timeline = await conn.fetch(
            "select action, summary from activities where subject_id = $1 order by created_at",
            uuid.UUID(invoice["id"]),
        )
        audited = await conn.fetchval(
            "select count(*) from audit_log where action = 'api.write' and details->>'path' = $1",
            f"{base}/send",
        )
    assert [s["to_addr"] for s in sends] == [customer, other]
    assert all(s["sent_at"] is not None for s in sends)  # delivered
    assert [r["action"] for r in timeline] == ["created", "status", "emailed", "emailed"]
    assert timeline[1]["summary"] == f"marked {label} as sent"
    assert audited == 2  # the two sends that went through, not the refusals
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from invoice_sends") == 0


async def test_send_needs_the_write_scope_and_valid_input(
    app: Any, tenant_a: Account, mailbox: Mailbox
) -> None:
    async with api_client(app, await token_for(tenant_a)) as api:
        invoice = await _billed_draft(api, "Hooli", None)  # no contact with an address
    base = f"/api/v1/invoices/{invoice['id']}/send"
    async with api_client(app, await token_for(tenant_a, READ_ONLY)) as reader:
        refused = is_problem(await reader.post(base, json={"to": _customer(), "version": 1}), 403)
        assert "invoices:write" in refused["detail"]
    async with api_client(app, await token_for(tenant_a, ["invoices:write"])) as api:
        # no address given and the customer has none: the data doesn't allow it (409)
        no_address = is_problem(await api.post(base, json={"version": 1}), 409)
        assert [e["name"] for e in no_address["errors"]] == ["to"]
        to = _customer()
        hostile: list[tuple[Any, str]] = [
            ({"to": "not-an-address", "version": 1}, "to"),
            ({"to": to, "message": "a\x00b", "version": 1}, "message"),
            ({"to": to, "message": "", "version": 1}, "message"),
            ({"to": to, "subject": "s" * 100_000, "version": 1}, "subject"),
            ({"to": to, "subject": "Grüße \x1b[31m", "version": 1}, "subject"),
            ({"to": to, "version": 0}, "version"),
        ]
        for body, field in hostile:
            problem = is_problem(await api.post(base, json=body), 422)
            assert field in [e["name"] for e in problem["errors"]], (body, problem)
            assert problem["errors"][0]["detail"], problem
        # no version and no If-Match: which state the send acts on is unknown (409, as a stale one)
        unversioned = is_problem(await api.post(base, json={"to": to}), 409)
        assert [e["name"] for e in unversioned["errors"]] == ["version"]
        for malformed in ({"to": to, "version": 1, "cc": "x@y.example"}, {"to": 5}, [], "x"):
            response = await api.post(base, json=malformed)
            assert 400 <= response.status_code < 500, (malformed, response.text[:300])
            is_problem(response, response.status_code)
        # non-ASCII is welcome where it is text
        kind = {"to": to, "subject": "Rechnung für Ihre Bestellung ✓", "version": 1}
        accepted = await api.post(base, json=kind)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["subject"] == kind["subject"]
        # a void invoice goes as a cancellation notice, as on the invoice page
        void = await api.post(
            f"/api/v1/invoices/{invoice['id']}/status", json={"status": "void", "version": 2}
        )
        assert void.status_code == 200, void.text
        notice = await api.post(base, json={"to": to, "version": 3})
        assert notice.status_code == 202, notice.text
        assert notice.json()["subject"].startswith("Cancelled: invoice")
        assert notice.json()["invoice_status"] == "void"
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        count = await conn.fetchval(
            "select count(*) from invoice_sends where invoice_id = $1", uuid.UUID(invoice["id"])
        )
    assert count == 2  # nothing queued by the refusals


async def test_send_limits_answer_429_with_retry_after(
    app: Any, tenant_a: Account, mailbox: Mailbox
) -> None:
    async with api_client(app, await token_for(tenant_a)) as api:
        invoice = await _billed_draft(api, "Vandelay", _customer())
        busy = await _billed_draft(api, "Kramerica", _customer())
        # one invoice emailed 20 times in the last day (the UI's limit): one more waits
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            for hours in range(MAX_SENDS_PER_DAY):
                await conn.execute(
                    "insert into invoice_sends (id, tenant_id, invoice_id, to_addr, subject,"
                    " created_at) values ($1, $2, $3, 'x@example.com', 'Invoice',"
                    " now() - make_interval(hours => $4))",
                    uuid.uuid4(),
                    tenant_a.tenant_id,
                    uuid.UUID(busy["id"]),
                    hours,
                )
        limited = await api.post(f"/api/v1/invoices/{busy['id']}/send", json={"version": 1})
        body = is_problem(limited, 429)
        assert f"was emailed {MAX_SENDS_PER_DAY} times today" in body["detail"]
        wait = int(limited.headers["Retry-After"])
        assert 3600 * 4 < wait <= 3600 * 5 + 1  # the oldest (19 hours ago) leaves in 5 hours
        # the member's sends an hour (the page's limit) are the API's too
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            owner = await conn.fetchval("select created_by from invoices limit 1")
        for _ in range(SENDS_PER_USER.limit):
            await ratelimit.hit(SENDS_PER_USER, str(owner))
        spent = await api.post(f"/api/v1/invoices/{invoice['id']}/send", json={"version": 1})
        assert "emailed a lot of invoices" in is_problem(spent, 429)["detail"]
        assert 0 < int(spent.headers["Retry-After"]) <= 3600
        still = (await api.get(f"/api/v1/invoices/{invoice['id']}")).json()
        assert still["status"] == "draft" and still["version"] == 1  # nothing went


def test_send_is_in_the_openapi_document() -> None:
    paths: Any = openapi_document()["paths"]
    operation = paths["/api/v1/invoices/{invoice_id}/send"]["post"]
    assert "202" in operation["responses"] and "requestBody" in operation
