"""Support inquiries: the public form, confirmation mail, the staff inbox and replies."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.accounts.tables import User
from app.core.db import global_transaction
from app.support.tables import SupportMessage, SupportTicket
from tests.helpers import Account, BrowserClient, Mailbox, make_account, run_jobs


@asynccontextmanager
async def visitor(app: Any) -> AsyncIterator[BrowserClient]:
    """An anonymous browser from an address of its own (the form is rate-limited per IP)."""
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with BrowserClient(transport=transport, base_url="http://testserver") as client:
        await client.refresh_csrf("/support")
        yield client


def inquiry(email: str, **overrides: str) -> dict[str, str]:
    return {
        "name": "Vera Visitor",
        "email": email,
        "topic": "privacy",
        "subject": "Where is my data stored?",
        "message": "Hello,\nwhich country holds my CRM data?\nThanks",
        "website": "",
        **overrides,
    }


async def ticket_count() -> int:
    async with global_transaction():
        return int(await SupportTicket.count())


async def make_staff(tag: str) -> Account:
    account = await make_account(tag)
    async with global_transaction():
        await User.update({User.is_staff: True}).where(User.id == account.user_id)
    return account


async def test_visitor_sends_a_request_and_gets_a_confirmation(app: Any, mailbox: Mailbox) -> None:
    email = f"vera-{uuid.uuid4().hex[:8]}@example.com"
    async with visitor(app) as client:
        assert 'href="/support"' in (await client.get("/login")).text  # reachable signed out
        page = await client.get("/support")
        assert page.status_code == 200
        assert "Contact support" in page.text
        assert "privacy@crmodex.com" in page.text  # the privacy contact beside the form
        response = await client.post_form("/support", inquiry(email))
        assert response.status_code == 303
        assert response.headers["location"] == "/support?sent=1"
        done = await client.get("/support?sent=1")
        match = re.search(r"We received your request #(\d+)", done.text)
        assert match, done.text[:2000]
    ticket_id = int(match.group(1))
    async with global_transaction():
        ticket = await SupportTicket.select().where(SupportTicket.id == ticket_id).first()
    assert ticket is not None
    assert (ticket["email"], ticket["status"], ticket["user_id"]) == (email, "open", None)
    await run_jobs()
    [mail] = mailbox.to(email)
    assert f"#{ticket_id}" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "which country holds my CRM data?" in body and "privacy@crmodex.com" in body


async def test_staff_inbox_shows_requests_and_a_reply_mails_the_requester(
    app: Any, client_a: BrowserClient, client_b: BrowserClient, tenant_b: Account, mailbox: Mailbox
) -> None:
    # a signed-in customer (workspace B) files a request: name and email come prefilled
    form = await client_b.get("/support")
    assert f'value="{tenant_b.email}"' in form.text
    response = await client_b.post_form(
        "/support", inquiry(tenant_b.email, name=tenant_b.name, subject="Invoice question B")
    )
    assert response.status_code == 303
    async with global_transaction():
        ticket = (
            await SupportTicket.select()
            .where(SupportTicket.subject == "Invoice question B")
            .first()
        )
    assert ticket is not None and ticket["user_id"] == tenant_b.user_id
    ticket_id = ticket["id"]

    # customers, even the requester, never see the inbox (workspace A's owner neither)
    for customer in (client_a, client_b):
        assert (await customer.get("/staff/support")).status_code == 403
        assert (await customer.get(f"/staff/support/{ticket_id}")).status_code == 403

    staff = await make_staff("Staff")
    transport = httpx.ASGITransport(app=app)
    async with BrowserClient(transport=transport, base_url="http://testserver") as desk:
        await desk.login(staff.email, staff.password)
        inbox = await desk.get("/staff/support")
        assert inbox.status_code == 200
        assert "Invoice question B" in inbox.text and "Support inbox" in inbox.text
        detail = await desk.get(f"/staff/support/{ticket_id}")
        assert "which country holds my CRM data?" in detail.text
        empty = await desk.post_form(f"/staff/support/{ticket_id}/reply", {"body": "  "}, htmx=True)
        assert empty.status_code == 422 and "Enter a reply." in empty.text
        sent = await desk.post_form(
            f"/staff/support/{ticket_id}/reply", {"body": "Your data stays in the EU."}
        )
        assert sent.status_code == 303
        answered = await desk.get("/staff/support?status=answered")
        assert "Invoice question B" in answered.text
        assert "Invoice question B" not in (await desk.get("/staff/support?status=open")).text
        closing = await desk.post_form(f"/staff/support/{ticket_id}/status", {"status": "closed"})
        assert closing.status_code == 303
        assert "Invoice question B" in (await desk.get("/staff/support?status=closed")).text
        bogus = await desk.post_form(f"/staff/support/{ticket_id}/status", {"status": "gone"})
        assert bogus.status_code == 422 and "Choose open, answered or closed." in bogus.text
        assert "Invoice question B" in (await desk.get("/staff/support?status=closed")).text
        assert (await desk.get("/staff/support/999999999")).status_code == 404
    async with global_transaction():
        thread = await SupportMessage.select(SupportMessage.author, SupportMessage.body).where(
            SupportMessage.ticket_id == ticket_id
        )
        status = await SupportTicket.select(SupportTicket.status).where(
            SupportTicket.id == ticket_id
        )
    assert [m["author"] for m in thread] == ["requester", "staff"]
    assert status[0]["status"] == "closed"
    await run_jobs()
    replies = [m for m in mailbox.to(tenant_b.email) if m["Subject"].startswith("Re: ")]
    assert len(replies) == 1 and f"#{ticket_id}" in replies[0]["Subject"]
    assert "Your data stays in the EU." in replies[0].get_payload(decode=True).decode()


async def test_bad_input_is_shown_inline_and_nothing_is_stored(app: Any) -> None:
    before = await ticket_count()
    async with visitor(app) as client:
        missing = await client.post_form(
            "/support", inquiry("", name="", subject="", message=""), htmx=True
        )
        assert missing.status_code == 422
        for text in ("Enter your name.", "Enter your email address", "Enter a subject."):
            assert text in missing.text
        assert "Enter your message." in missing.text
        huge = await client.post_form("/support", inquiry("x@example.com", message="y" * 6000))
        assert huge.status_code == 422
        assert "at most 5000 characters (this one has 6000)" in huge.text
        assert 'value="x@example.com"' in huge.text  # what was typed is kept
        bad = await client.post_form("/support", inquiry("not-an-email", topic="nonsense"))
        assert bad.status_code == 422
        assert "Enter a valid email address" in bad.text
        assert "Choose what your request is about." in bad.text
    assert await ticket_count() == before


async def test_spam_is_stopped_by_honeypot_and_rate_limit(app: Any, mailbox: Mailbox) -> None:
    before = await ticket_count()
    async with visitor(app) as bot:
        trapped = await bot.post_form(
            "/support", inquiry("bot@example.com", website="http://spam.example")
        )
        assert trapped.status_code == 303  # looks like success to the bot
    assert await ticket_count() == before
    email = f"eager-{uuid.uuid4().hex[:8]}@example.com"
    async with visitor(app) as person:
        for n in range(3):
            sent = await person.post_form("/support", inquiry(email, subject=f"Try {n}"))
            assert sent.status_code == 303
        held = await person.post_form("/support", inquiry(email, subject="Try 4"), htmx=True)
        assert held.status_code == 422
        assert "you can send another in" in held.text and "minutes" in held.text
    assert await ticket_count() == before + 3
    await run_jobs()
    assert len(mailbox.to(email)) == 3
    assert mailbox.to("bot@example.com") == []


async def test_forget_requester_erases_only_that_persons_tickets(app: Any) -> None:
    from app.support.services import forget_requester

    mine, other = (f"{tag}-{uuid.uuid4().hex[:8]}@example.com" for tag in ("gone", "stays"))
    async with visitor(app) as first, visitor(app) as second:
        assert (await first.post_form("/support", inquiry(mine))).status_code == 303
        assert (await second.post_form("/support", inquiry(other))).status_code == 303
    assert await forget_requester(None, mine.upper()) == 1
    async with global_transaction():
        left = await SupportTicket.select(SupportTicket.email).where(
            SupportTicket.email.is_in([mine, other])
        )
    assert [r["email"] for r in left] == [other]


async def test_inbox_searches_and_pages_through_tickets(app: Any) -> None:
    """Staff find a ticket by words of its subject or the sender's email, and page through more
    tickets than fit on one page, without skipping or repeating any."""
    tag = uuid.uuid4().hex[:8]
    async with global_transaction() as conn:
        await conn.executemany(
            "insert into support_tickets (name, email, topic, subject, status)"
            " values ($1, $2, 'general', $3, 'open')",
            [(f"Pat {i}", f"pat{i}-{tag}@example.com", f"Paging {tag} {i:03d}") for i in range(60)],
        )
    staff = await make_staff("Pager")
    transport = httpx.ASGITransport(app=app)
    async with BrowserClient(transport=transport, base_url="http://testserver") as desk:
        await desk.login(staff.email, staff.password)
        first = await desk.get("/staff/support", params={"status": "all", "q": f"Paging {tag}"})
        assert first.status_code == 200
        seen = re.findall(rf"Paging {tag} (\d\d\d)", first.text)
        assert len(seen) == 50
        older = re.search(r'href="(/staff/support\?[^"]*before=[^"]+)"', first.text)
        assert older
        second = await desk.get(older.group(1).replace("&amp;", "&"))
        seen += re.findall(rf"Paging {tag} (\d\d\d)", second.text)
        assert sorted(seen) == [f"{i:03d}" for i in range(60)]
        by_email = await desk.get("/staff/support", params={"status": "all", "q": f"pat7-{tag}"})
        assert re.findall(rf"Paging {tag} (\d\d\d)", by_email.text) == ["007"]
