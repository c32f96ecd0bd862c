"""The outbox through a real SMTP sink: refused addresses fail one mail (never the sweep), an
SMTP outage is retried with backoff for a day and then alerted, a sweep sends over one
connection (a fresh one after a failed mail or when the server hangs up), and one-time links do
not stay in the outbox once a mail is sent or given up."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from app.core.db import global_transaction, tenant_transaction
from app.core.embedded import free_port
from app.core.mail import queue_mail
from app.notifications import jobs
from app.notifications.jobs import deliver_outbox, retry_delay
from app.settings import get_settings
from tests.conftest import unique_email
from tests.helpers import Account, Mailbox


async def _row(message_id: int) -> dict[str, Any]:
    async with global_transaction() as conn:
        row = await conn.fetchrow("select * from outbox where id = $1", message_id)
    assert row is not None
    return dict(row)


async def _queue(tenant: Account, to_addr: str, link: str = "") -> int:
    async with tenant_transaction(tenant.tenant_id, tenant.user_id):
        return await queue_mail(
            "invite",
            to_addr,
            "You are invited",
            "invite.txt",
            inviter="Ann",
            company="Acme",
            role="member",
            link=link or "http://odex.test/invite/accept?token=plain",
            days=7,
        )


async def _notifications(tenant: Account, kind: str) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant.tenant_id) as conn:
        rows = await conn.fetch(
            "select user_id, title, body from notifications where kind = $1", kind
        )
    return [dict(r) for r in rows]


async def test_refused_addresses_fail_one_mail_each_never_the_sweep(
    tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    good_addr = unique_email("good")
    bad_ids = [await _queue(tenant_a, addr) for addr in ("(@x.com", "bad@", "<>")]
    good = await _queue(tenant_a, good_addr)
    await deliver_outbox(None)  # the whole sweep, bad mail first in line
    for message_id in bad_ids:
        row = await _row(message_id)
        assert row["failed_at"] is not None and row["sent_at"] is None
        assert row["last_error"] and row["attempts"] == 1
        assert "token=plain" not in row["body_text"]  # given up: its link goes too
    assert (await _row(good))["sent_at"] is not None
    assert len(mailbox.to(good_addr)) == 1
    alerts = await _notifications(tenant_a, "mail_undeliverable")
    assert {a["user_id"] for a in alerts} == {tenant_a.user_id}
    assert any("(@x.com" in a["title"] for a in alerts)
    assert not await _notifications(tenant_b, "mail_undeliverable")
    assert await deliver_outbox(None, bad_ids[0]) == 0  # given up means given up


def test_backoff_doubles_up_to_an_hour() -> None:
    waits = [retry_delay(n) for n in range(1, 9)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[-1] == timedelta(hours=1) and waits == sorted(waits)


async def test_smtp_outage_is_retried_for_a_day_then_admins_and_operator_are_told(
    tenant_a: Account,
    tenant_b: Account,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = unique_email("operator")
    down = msgspec.structs.replace(
        get_settings(), smtp_url=f"smtp://127.0.0.1:{free_port()}", operator_email=operator
    )
    monkeypatch.setattr(jobs, "get_settings", lambda: down)
    message_id = await _queue(tenant_a, unique_email("x"), "http://odex.test/verify?token=SECRET1")

    assert await deliver_outbox(None, message_id) == 0
    row = await _row(message_id)
    assert (row["attempts"], row["failed_at"], row["sent_at"]) == (1, None, None)
    assert "connect" in row["last_error"].lower() or "refused" in row["last_error"].lower()
    assert await deliver_outbox(None, message_id) == 0  # not due yet: not even tried
    assert (await _row(message_id))["attempts"] == 1

    async with global_transaction() as conn:  # 22 hours later it still fails: tried again later
        await conn.execute(
            "update outbox set created_at = now() - interval '22 hours',"
            " next_attempt_at = now() - interval '1 second' where id = $1",
            message_id,
        )
    await deliver_outbox(None, message_id)
    row = await _row(message_id)
    assert row["attempts"] == 2 and row["failed_at"] is None and row["next_attempt_at"]

    async with global_transaction() as conn:  # a day later: given up, loudly
        await conn.execute(
            "update outbox set created_at = now() - interval '24 hours',"
            " next_attempt_at = now() - interval '1 second' where id = $1",
            message_id,
        )
    with caplog.at_level(logging.ERROR, logger="odex.mail"):
        await deliver_outbox(None, message_id)
    row = await _row(message_id)
    assert row["failed_at"] is not None and "still failing after 1 day" in row["last_error"]
    assert "SECRET1" not in row["body_text"]
    assert any("UNDELIVERABLE" in r.message for r in caplog.records)
    alerts = await _notifications(tenant_a, "mail_undeliverable")
    assert any(a["user_id"] == tenant_a.user_id for a in alerts)

    monkeypatch.undo()  # SMTP is back: the operator's alert goes out with the next sweep
    await deliver_outbox(None)
    to_operator = mailbox.to(operator)
    assert len(to_operator) == 1 and str(message_id) in to_operator[0].get_payload()


async def test_sent_mail_keeps_no_usable_link_in_the_outbox(client: Any, mailbox: Mailbox) -> None:
    email = unique_email("fresh")
    await client.refresh_csrf("/signup")
    response = await client.post_form(
        "/signup",
        {"name": "Fresh", "email": email, "company": "Fresh Co", "password": "a long passphrase"},
    )
    assert response.status_code in (200, 303), response.text[:300]
    await deliver_outbox(None)
    link = mailbox.last_link(email, "/verify")  # the person got the real link…
    token = link.split("token=", 1)[1]
    async with global_transaction() as conn:
        body = await conn.fetchval(
            "select body_text from outbox where to_addr = $1 and kind = 'verify'", email
        )
    assert token not in body and "token=[removed after sending]" in body  # …the outbox did not
    assert (await client.get(link)).status_code in (200, 303)


class _CountingServer:
    """An SMTP server that records the connection (the client's address) each mail came over
    and, like many real ones, takes at most two mails per connection (then: 421, hang up)."""

    def __init__(self) -> None:
        self.peer_of: dict[str, Any] = {}  # recipient -> the connection it came over
        self.per_connection: dict[Any, int] = {}

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.per_connection.get(session.peer, 0) >= 2:
            return "421 4.7.0 Too many messages on this connection"
        envelope.mail_from, envelope.mail_options = address, options
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.per_connection[session.peer] = self.per_connection.get(session.peer, 0) + 1
        for rcpt in envelope.rcpt_tos:
            self.peer_of[rcpt] = session.peer
        return "250 Message accepted for delivery"


@pytest.fixture
def counting_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_CountingServer]:
    handler = _CountingServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    here = msgspec.structs.replace(get_settings(), smtp_url=f"smtp://127.0.0.1:{port}")
    monkeypatch.setattr(jobs, "get_settings", lambda: here)
    yield handler
    controller.stop()


async def test_a_sweep_keeps_one_connection_and_starts_a_fresh_one_when_it_must(
    tenant_a: Account, counting_server: _CountingServer
) -> None:
    first, second, third, fourth = (unique_email(f"conn{n}") for n in range(1, 5))
    ids = [await _queue(tenant_a, addr) for addr in (first, second, third)]
    bad = await _queue(tenant_a, "(@x.com")
    ids.append(await _queue(tenant_a, fourth))
    await deliver_outbox(None)
    for message_id in ids:  # every good mail went out at its first attempt
        row = await _row(message_id)
        assert row["sent_at"] is not None and row["last_error"] is None, row
    assert (await _row(bad))["failed_at"] is not None
    peer = counting_server.peer_of
    assert peer[first] == peer[second]  # one connection for both…
    assert peer[third] != peer[second]  # …until the server hung up (421): sent on a new one
    assert peer[fourth] != peer[third]  # the refused mail's connection was not used again
