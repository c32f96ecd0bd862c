"""Outbound webhooks against a real receiver on loopback (the tests run with local targets
allowed, as dev does): signed deliveries of the chosen events, one record's events in order,
retries while the receiver is down, auto-disable with an alert, the SSRF refusals outside dev,
two workspaces kept apart, and admins only."""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.core.db import tenant_transaction
from app.core.forms import parse
from app.crm import contacts
from app.crm.schemas import ContactEdit, ContactForm
from app.deals.moves import move_deal
from app.invoices.services import change_status
from app.webhooks import jobs, sender
from app.webhooks.schemas import verify
from app.webhooks.scopes import scopes_for
from tests.deals.helpers import add_colleague, current_of
from tests.helpers import Account, BrowserClient, Mailbox, browser_client, run_jobs
from tests.privacy.seed import seed_crm
from tests.security.helpers import add_member
from tests.webhooks.receiver import Receiver

SECRET_RE = re.compile(r'value="(whsec_[A-Za-z0-9_-]+)"')
HOOK_RE = re.compile(r'id="webhook-([0-9a-f-]{36})"')
CONTACT_EVENTS = ["contact.created", "contact.updated", "contact.deleted"]


def _readme_snippet() -> Any:
    """The README's verification snippet, run as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = readme.split("## Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own README's example
    return namespace["verify"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def subscribe(
    client: BrowserClient,
    url: str,
    events: list[str] = CONTACT_EVENTS,
    scopes: list[str] | None = None,
    personal: bool = True,
) -> tuple[str, str]:
    """Add a webhook through the settings page: (its id, the secret shown once); it may read
    what its events need (or `scopes`), personal data included unless told otherwise."""
    data: Any = {"url": url, "description": "CRM sync", "events": events}
    data["scopes"] = scopes_for(events) if scopes is None else scopes
    if personal:
        data["personal_data"] = "on"
    response = await client.post_form("/settings/webhooks", data, htmx=True)
    assert response.status_code == 200, response.text[:2000]
    secret = SECRET_RE.search(response.text)
    ids = HOOK_RE.findall(response.text)
    assert secret and ids
    return ids[-1], secret.group(1)


async def deliveries(account: Account) -> list[dict[str, Any]]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch("select * from webhook_deliveries order by seq")
    return [dict(r) for r in rows]


async def drain(account: Account) -> list[str]:
    """Run the delivery job of every pending delivery that is due, elders first, until none
    moves (what the arq worker and the sweep do between them); the outcomes in order."""
    outcomes: list[str] = []
    while True:
        pending = [
            d for d in await deliveries(account) if d["status"] == "pending" and d["attempts"] == 0
        ] + [d for d in await deliveries(account) if d["status"] == "pending" and d["attempts"]]
        ran = [
            await jobs.deliver_webhook(None, str(account.tenant_id), str(d["id"])) for d in pending
        ]
        outcomes += [o for o in ran if o not in ("waiting", "skip")]
        if all(o in ("waiting", "skip", "pending") for o in ran):
            return outcomes


async def make_due(account: Account) -> None:
    """Time passes: every pending retry is due now."""
    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "update webhook_deliveries set next_attempt_at = now() - interval '1 second'"
            " where status = 'pending'"
        )


async def new_contact(account: Account, first: str = "Ada") -> uuid.UUID:
    form = parse(ContactForm, {"first_name": first, "last_name": "Lovelace", "emails": "ada@x.io"})
    return await contacts.create_contact(await current_of(account), form)


async def rename(account: Account, contact_id: uuid.UUID, first: str, version: int) -> None:
    form = parse(
        ContactEdit,
        {"first_name": first, "last_name": "Lovelace", "emails": "ada@x.io", "version": version},
    )
    await contacts.update_contact(await current_of(account), contact_id, form)


async def test_signed_events_of_one_record_arrive_in_order_through_arq(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    hook_id, secret = await subscribe(client_a, receiver.url)
    page = await client_a.get("/settings/webhooks")
    assert secret not in page.text  # shown once
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        stored = await conn.fetchval("select secret_enc from webhook_subscriptions")
    assert secret not in stored and stored.startswith("enc2:")

    contact_id = await new_contact(tenant_a)
    await rename(tenant_a, contact_id, "Augusta", 1)
    await contacts.delete_contact(await current_of(tenant_a), contact_id, 2)
    await run_jobs()  # the real worker: three jobs at once, the chain keeps their order

    assert [r.headers["odex-event"] for r in receiver.received] == CONTACT_EVENTS
    rows = await deliveries(tenant_a)
    assert [d["status"] for d in rows] == ["delivered"] * 3
    for got, row in zip(receiver.received, rows, strict=True):
        assert got.path == "/hooks/odex"
        assert got.headers["odex-delivery"] == str(row["id"])
        assert got.headers["content-type"] == "application/json"
        assert verify(secret, got.headers["odex-signature"], got.body, int(time.time()))
        assert not verify("whsec_wrong", got.headers["odex-signature"], got.body, int(time.time()))
        assert not verify(secret, got.headers["odex-signature"], got.body + b" ", int(time.time()))
    readme_verify = _readme_snippet()  # what the README tells receivers to run
    for got in receiver.received:
        assert readme_verify(secret, got.headers["odex-signature"], got.body)
        assert not readme_verify(secret, got.headers["odex-signature"], got.body[:-1])
    created, updated, deleted = (json.loads(r.body) for r in receiver.received)
    assert created["type"] == "contact.created" and created["object"] == "contact"
    assert created["workspace_id"] == str(tenant_a.tenant_id)
    assert created["data"]["emails"] == ["ada@x.io"] and created["data"]["object"] == "contact"
    assert not {"emails_enc", "emails_bidx", "tenant_id", "search_text"} & set(created["data"])
    assert updated["changed"] == ["first_name"] and updated["data"]["first_name"] == "Augusta"
    assert deleted["data"] is None and deleted["object_id"] == str(contact_id)
    # the delivery log: status, HTTP code, latency, response, attempts
    log = await client_a.get(f"/settings/webhooks/{hook_id}")
    assert log.status_code == 200 and log.text.count("Delivered") >= 3
    assert "contact.deleted" in log.text and "ok" in log.text
    assert all(d["response_status"] == 200 and d["latency_ms"] is not None for d in rows)


async def test_receiver_down_then_up_gets_each_event_once_in_order(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    await subscribe(client_a, receiver.url)
    await receiver.stop()  # down: connections refused
    contact_id = await new_contact(tenant_a)
    await rename(tenant_a, contact_id, "Augusta", 1)
    await rename(tenant_a, contact_id, "Ada", 2)
    assert await drain(tenant_a) == ["pending"]  # the first failed; the later two wait for it
    first, second, third = await deliveries(tenant_a)
    assert first["attempts"] == 1 and first["error"] and first["response_status"] is None
    assert first["next_attempt_at"] > first["last_attempt_at"]  # backoff
    assert second["attempts"] == 0 and third["attempts"] == 0
    assert await drain(tenant_a) == []  # not due yet: nothing is sent early

    receiver.status = 503  # up, but failing: still retried
    await receiver.start()
    await make_due(tenant_a)
    assert await drain(tenant_a) == ["pending"]
    receiver.status = 200
    await make_due(tenant_a)
    assert await drain(tenant_a) == ["delivered", "delivered", "delivered"]
    rows = await deliveries(tenant_a)
    assert [d["attempts"] for d in rows] == [3, 1, 1]
    ok = [
        r for r in receiver.received if r.headers["odex-delivery"] in {str(d["id"]) for d in rows}
    ]
    assert [json.loads(r.body)["type"] for r in ok[-3:]] == [
        "contact.created",
        "contact.updated",
        "contact.updated",
    ]
    assert [json.loads(r.body)["data"]["first_name"] for r in ok[-3:]] == ["Ada", "Augusta", "Ada"]
    delivered_ids = [r.headers["odex-delivery"] for r in ok if r.headers.get("odex-delivery")]
    assert len(delivered_ids) == 4  # one 503 and three successes: nothing sent twice after 2xx
    assert await drain(tenant_a) == []
    # a given-up delivery (older than a day) lets the record's next one go
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        hook = await conn.fetchval("select id from webhook_subscriptions")
        await conn.execute("update webhook_subscriptions set consecutive_failures = 0")
    assert hook


async def test_a_delivery_is_given_up_after_a_day_and_the_next_one_goes(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    await subscribe(client_a, receiver.url)
    receiver.status = 500
    contact_id = await new_contact(tenant_a)
    await rename(tenant_a, contact_id, "Augusta", 1)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update webhook_deliveries set created_at = now() - interval '25 hours'"
            " where event = 'contact.created'"
        )
    assert await drain(tenant_a) == ["failed", "pending"]
    first, second = await deliveries(tenant_a)
    assert first["status"] == "failed" and first["response_status"] == 500
    assert second["status"] == "pending" and second["attempts"] == 1


async def test_a_webhook_failing_for_a_day_is_turned_off_and_admins_alerted(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver, mailbox: Mailbox
) -> None:
    hook_id, _ = await subscribe(client_a, receiver.url)
    receiver.status = 500
    await new_contact(tenant_a)
    await new_contact(tenant_a, "Grace")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update webhook_subscriptions set failing_since = now() - interval '25 hours'"
        )
    await drain(tenant_a)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        hook = await conn.fetchrow("select * from webhook_subscriptions")
        alerts = await conn.fetch("select kind, summary from security_alerts")
    assert not hook["enabled"] and "24 hours" in hook["disabled_reason"]
    assert [d["status"] for d in await deliveries(tenant_a)] == ["failed", "failed"]
    assert len(receiver.received) == 1  # the second was given up with the webhook
    kinds = [a["kind"] for a in alerts]
    assert "webhook_created" in kinds and "webhook_disabled" in kinds
    await run_jobs()  # the alert's mail to the admins
    assert any("turned off" in (m["Subject"] or "") for m in mailbox.to(tenant_a.email))

    # turned on again by an admin: new events go out, the streak starts over
    receiver.status = 200
    response = await client_a.post_form(f"/settings/webhooks/{hook_id}/enable")
    assert response.status_code == 303
    await new_contact(tenant_a, "Edsger")
    assert await drain(tenant_a) == ["delivered"]
    # and N failures in a row turn it off too
    receiver.status = 500
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update webhook_subscriptions set consecutive_failures = $1",
            jobs.DISABLE_AFTER_FAILURES - 1,
        )
    await new_contact(tenant_a, "Barbara")
    await drain(tenant_a)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        reason = await conn.fetchval("select disabled_reason from webhook_subscriptions")
    assert reason and "in a row" in reason


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://192.168.0.10/hook",
        "https://100.64.0.1/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",  # a name resolving to loopback
        "http://93.184.215.14/hook",  # public, but plain http
        "ftp://93.184.215.14/hook",
        "https://user:pw@93.184.215.14/hook",
        "https://93.184.215.14/hoök",
        "https://93.184.215.14/a\r\nX-Injected: 1",
    ],
)
async def test_private_and_plain_targets_are_refused_outside_dev(url: str) -> None:
    with pytest.raises(sender.TargetRefused):
        await sender.resolve(url, allow_local=False)
    outcome = await sender.post(url, b"{}", {}, allow_local=False)
    assert outcome.status is None and outcome.error and not outcome.address  # never connected


async def test_public_addresses_pass_and_the_connection_goes_to_the_checked_address(
    receiver: Receiver,
) -> None:
    assert sender.is_public(ipaddress.ip_address("93.184.215.14"))
    assert sender.is_public(ipaddress.ip_address("2606:4700::1111"))
    target = await sender.resolve("https://93.184.215.14:8443/in?x=1", allow_local=False)
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/in?x=1")
    # resolved once: the request goes to that address, under the name (Host header / SNI)
    pinned = sender.Target("http", "hooks.example.test", receiver.port, "/p", "127.0.0.1")
    outcome = await sender.send(pinned, b"{}", {"Odex-Event": "x"})
    assert outcome.status == 200 and outcome.address == "127.0.0.1"
    assert receiver.received[-1].headers["host"] == f"hooks.example.test:{receiver.port}"
    # no redirects followed; the answer's excerpt is capped
    receiver.status, receiver.answer = 302, b"x" * 5000
    moved = await sender.send(pinned, b"{}", {})
    assert not moved.ok and "redirect" in moved.error and len(moved.excerpt) <= 1024


async def test_the_form_refuses_bad_addresses_and_no_events_with_422(
    client_a: BrowserClient,
) -> None:
    for data in (
        {"url": "ftp://example.com/x", "events": "contact.created"},
        {"url": "https://example.com/x"},
        {"url": "https://example.com/x", "events": "contact.exploded"},
        {"url": "https://exa mple.com/x", "events": "contact.created"},
    ):
        response = await client_a.post_form("/settings/webhooks", data, htmx=True)
        assert response.status_code == 422, response.text[:500]
        assert "is-invalid" in response.text or "text-danger" in response.text


async def test_another_workspace_never_receives_and_cannot_reach_a_webhook(
    client_a: BrowserClient,
    client_b: BrowserClient,
    tenant_a: Account,
    tenant_b: Account,
    receiver: Receiver,
) -> None:
    other = await Receiver().start()
    try:
        hook_a, _ = await subscribe(client_a, receiver.url)
        await subscribe(client_b, other.url)
        await new_contact(tenant_a)
        await drain(tenant_a)
        await drain(tenant_b)
        assert len(receiver.received) == 1 and other.received == []
        assert not await deliveries(tenant_b)
        delivery_a = (await deliveries(tenant_a))[0]["id"]
        base = f"/settings/webhooks/{hook_a}"
        assert (await client_b.get(base)).status_code == 404
        for path in ("/enable", "/disable", f"/deliveries/{delivery_a}/redeliver"):
            assert (await client_b.post_form(base + path)).status_code == 404, path
        deleted = await client_b.post_form(base + "/delete", {"version": "1"})
        assert deleted.status_code == 404
        assert hook_a not in (await client_b.get("/settings/webhooks")).text
        # the owner's own redelivery works: a new delivery of the same body
        again = await client_a.post_form(f"{base}/deliveries/{delivery_a}/redeliver")
        assert again.status_code == 303
        assert await drain(tenant_a) == ["delivered"]
        assert receiver.received[0].body == receiver.received[1].body
    finally:
        await other.stop()


async def test_members_cannot_see_or_manage_webhooks(
    app: Any, client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    hook_id, _ = await subscribe(client_a, receiver.url)
    member = await add_member(tenant_a, "member")
    async with browser_client(app) as client:
        await client.login(member.email, member.password)
        assert (await client.get("/settings/webhooks")).status_code == 403
        assert (await client.get(f"/settings/webhooks/{hook_id}")).status_code == 403
        data = {"url": receiver.url, "events": "contact.created"}
        created = await client.post_form("/settings/webhooks", data)
        assert created.status_code == 403
        assert (await client.post_form(f"/settings/webhooks/{hook_id}/disable")).status_code == 403
        app_page = await client.get("/app")
        assert "/settings/webhooks" not in app_page.text  # not in the member's sidebar
    admin = await add_member(tenant_a, "admin")
    async with browser_client(app) as client:
        await client.login(admin.email, admin.password)
        assert (await client.get(f"/settings/webhooks/{hook_id}")).status_code == 200
        assert "/settings/webhooks" in (await client.get("/app")).text  # in the admin's sidebar


async def test_member_joined_deal_moved_and_invoice_paid_are_delivered(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver, mailbox: Mailbox
) -> None:
    await subscribe(client_a, receiver.url, ["member.joined", "deal.moved", "invoice.paid"])
    colleague = await add_colleague(tenant_a, mailbox)
    seeded = await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "hooks")
    won = uuid.uuid4()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into stages (id, tenant_id, pipeline_id, name, position)"
            " values ($1, $2, $3, 'Won', 1)",
            won,
            tenant_a.tenant_id,
            seeded["pipeline"],
        )
    current = await current_of(tenant_a)
    await move_deal(current, seeded["deal"], won, 1)
    await change_status(current, seeded["invoice"], "sent", 1)  # not chosen: not sent
    await change_status(current, seeded["invoice"], "paid", 2)
    await drain(tenant_a)
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [b["type"] for b in bodies] == ["member.joined", "deal.moved", "invoice.paid"]
    joined, moved, paid = bodies
    assert joined["data"] == {
        "object": "member",
        "user_id": str(colleague.user_id),
        "role": "member",
    }
    assert moved["data"]["stage_name"] == "Won" and moved["data"]["amount"] == "1200.00"
    assert paid["data"]["status"] == "paid" and paid["data"]["paid_at"]
    assert "notes" not in paid["data"]  # only the fields the event's shape names


async def test_an_invoice_paid_through_the_api_is_delivered_as_invoice_paid(
    app: Any, client_a: BrowserClient, tenant_a: Account, tenant_b: Account, receiver: Receiver
) -> None:
    from app.webhooks.forms import WebhookForm
    from app.webhooks.services import create_hook
    from tests.api.helpers import api_client, token_for

    await subscribe(client_a, receiver.url, ["invoice.paid"])
    b_hook = parse(
        WebhookForm,
        {"url": receiver.url, "events": ["invoice.paid"], "scopes": ["invoices:read"]},
    )
    await create_hook(await current_of(tenant_b), b_hook)  # B listens for the same event
    seeded = await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "api-paid")
    status = f"/api/v1/invoices/{seeded['invoice']}/status"
    async with api_client(app, await token_for(tenant_a)) as api:
        sent = await api.post(status, json={"status": "sent", "version": 1})
        assert sent.status_code == 200, sent.text
        assert await deliveries(tenant_a) == []  # sent is not an event
        paid = await api.post(status, json={"status": "paid", "version": 2})
        assert paid.status_code == 200, paid.text
    (row,) = await deliveries(tenant_a)
    assert row["event"] == "invoice.paid" and row["order_key"].endswith(str(seeded["invoice"]))
    assert json.loads(row["payload"])["data"]["id"] == str(seeded["invoice"])
    assert await deliveries(tenant_b) == []  # B's subscription hears nothing of A's invoices
    assert await drain(tenant_a) == ["delivered"]
    (body,) = [json.loads(r.body) for r in receiver.received]
    assert body["type"] == "invoice.paid" and body["data"]["status"] == "paid"


async def test_the_sweep_queues_what_is_due_in_every_workspace_but_not_what_waits(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    from app.core.db import global_transaction
    from app.webhooks import queries

    await subscribe(client_a, receiver.url)
    await receiver.stop()
    contact_id = await new_contact(tenant_a)
    await rename(tenant_a, contact_id, "Augusta", 1)
    first, second = await deliveries(tenant_a)
    async with global_transaction() as conn:
        due = await queries.due_everywhere(conn, 10_000)
    assert (tenant_a.tenant_id, first["id"]) not in due  # its job was queued a moment ago
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # ...and then lost
        await conn.execute(
            "update webhook_deliveries set next_attempt_at = now() - interval '2 minutes'"
        )
    async with global_transaction() as conn:
        due = await queries.due_everywhere(conn, 10_000)
    assert (tenant_a.tenant_id, first["id"]) in due
    assert (tenant_a.tenant_id, second["id"]) not in due  # waits for its elder
    await receiver.start()
    assert await jobs.sweep_webhooks() >= 1
    await run_jobs()
    assert [d["status"] for d in await deliveries(tenant_a)] == ["delivered", "delivered"]
    assert [r.headers["odex-event"] for r in receiver.received] == CONTACT_EVENTS[:2]


async def test_a_change_rolled_back_sends_nothing_and_old_deliveries_are_forgotten(
    client_a: BrowserClient, tenant_a: Account, receiver: Receiver
) -> None:
    from app.webhooks import queries

    await subscribe(client_a, receiver.url)
    current = await current_of(tenant_a)
    form = parse(ContactForm, {"first_name": "Never", "last_name": "Saved"})
    with pytest.raises(RuntimeError):
        async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
            await contacts.create_contact(current, form)  # joins this transaction
            raise RuntimeError("the process dies before the commit")
    assert await deliveries(tenant_a) == []
    await run_jobs()
    assert receiver.received == []

    await new_contact(tenant_a)
    assert await drain(tenant_a) == ["delivered"]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await queries.forget_old(conn, tenant_a.tenant_id, jobs.KEEP_DAYS) == 0
        await conn.execute("update webhook_deliveries set created_at = now() - interval '31 days'")
        assert await queries.forget_old(conn, tenant_a.tenant_id, jobs.KEEP_DAYS) == 1


async def hook_row(account: Account) -> dict[str, Any]:
    async with tenant_transaction(account.tenant_id) as conn:
        row = await conn.fetchrow("select * from webhook_subscriptions")
    assert row is not None
    return dict(row)


async def test_editing_a_webhook_with_its_version_and_the_same_address_rules(
    client_a: BrowserClient,
    client_b: BrowserClient,
    tenant_a: Account,
    tenant_b: Account,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msgspec

    from app.settings import get_settings

    hook_id, _ = await subscribe(client_a, receiver.url)
    base = f"/settings/webhooks/{hook_id}"
    form = await client_a.get(base + "/edit")
    assert form.status_code == 200 and receiver.url in form.text
    assert 'name="version" value="1"' in form.text
    assert f"{base}/edit" in (await client_a.get(base)).text

    # another workspace reaches nothing of it
    assert (await client_b.get(base + "/edit")).status_code == 404
    edit: Any = {"url": "http://127.0.0.1:9/x", "events": ["contact.created"], "version": "1"}
    edit["scopes"] = "contacts:read"
    assert (await client_b.post_form(base + "/edit", edit)).status_code == 404
    assert (await client_b.post_form(base + "/rotate", {"version": "1"})).status_code == 404
    assert (await hook_row(tenant_a))["url"] == receiver.url

    # the events and description change; only the chosen events are sent from now on
    saved = await client_a.post_form(
        base + "/edit",
        {
            "url": receiver.url,
            "events": ["contact.created"],
            "scopes": "contacts:read",
            "description": "New",
            "version": "1",
        },
    )
    assert saved.status_code == 303, saved.text[:1000]
    row = await hook_row(tenant_a)
    assert (row["events"], row["description"], row["version"]) == (["contact.created"], "New", 2)
    contact_id = await new_contact(tenant_a)
    await rename(tenant_a, contact_id, "Augusta", 1)
    assert await drain(tenant_a) == ["delivered"]
    assert [r.headers["odex-event"] for r in receiver.received] == ["contact.created"]

    # a form opened before that save: the conflict page (409) saying what changed meanwhile
    stale = await client_a.post_form(
        base + "/edit",
        {"url": receiver.url, "events": CONTACT_EVENTS, "scopes": "contacts:read", "version": "1"},
    )
    assert stale.status_code == 409, stale.text[:500]
    assert "Someone changed this webhook" in stale.text and 'value="2"' in stale.text
    assert (await hook_row(tenant_a))["version"] == 2

    # bad input: 422 with the message beside the field, nothing saved
    for data in (
        {"url": "ftp://example.com/x", "events": "contact.created", "version": "2"},
        {"url": receiver.url, "version": "2"},
        {"url": receiver.url, "events": "contact.created"},
    ):
        refused = await client_a.post_form(base + "/edit", data)
        assert refused.status_code == 422, (data, refused.text[:500])
    assert (await hook_row(tenant_a))["version"] == 2

    # outside dev, an edit is refused an address the SSRF rules refuse, as a new webhook is
    production = msgspec.structs.replace(get_settings(), env="production")
    monkeypatch.setattr(jobs, "get_settings", lambda: production)
    for url in (
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/in",
        "https://localhost/hook",
        "http://93.184.215.14/hook",
    ):
        refused = await client_a.post_form(
            base + "/edit",
            {"url": url, "events": "contact.created", "scopes": "contacts:read", "version": "2"},
        )
        assert refused.status_code == 422, (url, refused.text[:500])
        assert "public internet" in refused.text or "https://" in refused.text
    assert (await hook_row(tenant_a))["url"] == receiver.url
    monkeypatch.undo()

    # a new address: checked, saved, audited, alerted; deliveries go there
    other = await Receiver().start()
    try:
        moved = await client_a.post_form(
            base + "/edit",
            {
                "url": other.url,
                "events": "contact.created",
                "scopes": "contacts:read",
                "version": "2",
            },
        )
        assert moved.status_code == 303
        await new_contact(tenant_a, "Grace")
        assert await drain(tenant_a) == ["delivered"]
        assert len(other.received) == 1 and len(receiver.received) == 1
    finally:
        await other.stop()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        actions = [r["action"] for r in await conn.fetch("select action from audit_log")]
    assert actions.count("webhooks.updated") == 2


async def test_rotating_the_secret_signs_with_both_for_a_day(
    client_a: BrowserClient, tenant_a: Account, tenant_b: Account, receiver: Receiver
) -> None:
    hook_id, old = await subscribe(client_a, receiver.url)
    base = f"/settings/webhooks/{hook_id}"
    rotated = await client_a.post_form(base + "/rotate", {"version": "1"})
    assert rotated.status_code == 200, rotated.text[:1000]
    shown = SECRET_RE.search(rotated.text)
    assert shown and shown.group(1) != old
    new = shown.group(1)
    page = await client_a.get(base)
    assert new not in page.text and old not in page.text  # shown once
    assert "Signed with the new and the previous secret until" in page.text
    row = await hook_row(tenant_a)
    assert row["version"] == 2 and row["previous_secret_until"] is not None
    assert old not in row["previous_secret_enc"] and new not in row["secret_enc"]

    # during the overlap: `v1=<new>,v1=<old>`, each verifies (ours and the README's)
    await new_contact(tenant_a)
    assert await drain(tenant_a) == ["delivered"]
    header = receiver.received[-1].headers["odex-signature"]
    assert header.count("v1=") == 2
    body, now = receiver.received[-1].body, int(time.time())
    readme_verify = _readme_snippet()
    for secret in (new, old):
        assert verify(secret, header, body, now) and readme_verify(secret, header, body)
    assert not verify("whsec_wrong", header, body, now)
    assert not readme_verify("whsec_wrong", header, body)
    assert not verify(old, header, body + b" ", now)

    # a rotation from a page showing an older version is refused (422), nothing changes
    stale = await client_a.post_form(base + "/rotate", {"version": "1"})
    assert stale.status_code == 422 and "changed since the page was opened" in stale.text
    assert (await hook_row(tenant_a))["secret_enc"] == row["secret_enc"]

    # after 24 hours only the new secret signs
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update webhook_subscriptions set previous_secret_until = now() - interval '1 second'"
        )
    await new_contact(tenant_a, "Grace")
    assert await drain(tenant_a) == ["delivered"]
    header = receiver.received[-1].headers["odex-signature"]
    body, now = receiver.received[-1].body, int(time.time())
    assert header.count("v1=") == 1
    assert verify(new, header, body, now) and not verify(old, header, body, now)
    assert "previous secret" not in (await client_a.get(base)).text
