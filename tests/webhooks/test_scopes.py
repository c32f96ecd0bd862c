"""Webhook scopes against the in-suite receiver: a subscription gets only what it may read
(contacts' emails and phones only with personal data, a deal's contacts only with contacts:read),
events outside its scopes can't be chosen and are never delivered, the stored bodies hold no
more than what was sent, existing subscriptions keep what they had; two workspaces, hostile
form values, and admins only."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.api.tokens import OFFERED
from app.core.db import tenant_transaction
from app.core.forms import parse
from app.crm import contacts
from app.crm.schemas import ContactForm
from app.deals.moves import move_deal
from app.webhooks import scopes
from app.webhooks.schemas import EVENTS, ContactData, DealContact
from tests.deals.helpers import current_of
from tests.helpers import Account, BrowserClient, browser_client
from tests.privacy.seed import seed_crm
from tests.security.helpers import add_member
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks import deliveries, drain, hook_row, subscribe

EMAIL, PHONE = "ada@x.io", "+44 20 7946 0958"
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "webhooks"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver, Receiver]]:
    got = (await Receiver().start(), await Receiver().start(), await Receiver().start())
    yield got
    for r in got:
        await r.stop()


async def new_contact(account: Account, first: str = "Ada") -> uuid.UUID:
    data = {"first_name": first, "last_name": "Lovelace", "emails": EMAIL, "phones": PHONE}
    return await contacts.create_contact(await current_of(account), parse(ContactForm, data))


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received]


def test_the_vocabulary_is_the_api_tokens_and_personal_fields_can_be_left_out() -> None:
    # every object scope but members:read (the API has no members) is a token scope
    assert set(scopes.SCOPES) - set(OFFERED) == {"members:read"}
    assert all(scopes.scope_of(e) in scopes.SCOPES for e in EVENTS)
    assert scopes.scope_of("deal.moved") == "deals:read" and scopes.scope_of("x.y") == ""
    for shape in (ContactData, DealContact):  # each personal field is optional (UNSET)
        fields = {f.name: f for f in msgspec.structs.fields(shape)}
        assert all(fields[name].default is msgspec.UNSET for name in scopes.PERSONAL)
    assert scopes.PERSONAL == ("emails", "phones")


async def test_a_contact_goes_without_emails_and_phones_unless_personal_data_is_chosen(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    without, with_personal, _ = receivers
    plain_id, _ = await subscribe(client_a, without.url, ["contact.created"], personal=False)
    await subscribe(client_a, with_personal.url, ["contact.created"], personal=True)
    contact_id = await new_contact(tenant_a)
    assert await drain(tenant_a) == ["delivered", "delivered"]

    (cut,) = bodies(without)
    assert cut["data"]["first_name"] == "Ada" and cut["data"]["id"] == str(contact_id)
    assert "emails" not in cut["data"] and "phones" not in cut["data"]
    assert EMAIL not in without.received[0].body.decode()
    assert "7946" not in without.received[0].body.decode()
    (full,) = bodies(with_personal)
    assert full["data"]["emails"] == [EMAIL] and full["data"]["phones"] == [PHONE]
    assert full["id"] == cut["id"]  # the same event, cut for each subscriber

    # the stored bodies are what was sent: the one without personal data never held it
    stored = {str(d["subscription_id"]): d["payload"] for d in await deliveries(tenant_a)}
    assert EMAIL not in stored[plain_id] and "7946" not in stored[plain_id]
    assert stored[plain_id].encode() == without.received[0].body
    log = await client_a.get(f"/settings/webhooks/{plain_id}")
    assert log.status_code == 200 and "Delivered" in log.text and EMAIL not in log.text
    assert "personal data left out" in log.text and "May read: Contacts" in log.text


async def test_a_deal_carries_its_contacts_only_with_the_contacts_scope(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    deals_only, names_only, everything = receivers
    await subscribe(client_a, deals_only.url, ["deal.moved"], personal=True)
    two = ["deals:read", "contacts:read"]
    await subscribe(client_a, names_only.url, ["deal.moved"], two, personal=False)
    await subscribe(client_a, everything.url, ["deal.moved"], two, personal=True)
    seeded = await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "scoped")
    email = "jane1-scoped@example.com"  # the deal's contact (tests/privacy/seed.py)
    won = uuid.uuid4()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into stages (id, tenant_id, pipeline_id, name, position)"
            " values ($1, $2, $3, 'Won', 1)",
            won,
            tenant_a.tenant_id,
            seeded["pipeline"],
        )
    await move_deal(await current_of(tenant_a), seeded["deal"], won, 1)
    assert await drain(tenant_a) == ["delivered"] * 3

    (bare,) = bodies(deals_only)  # personal data on, but no contacts scope: no contact at all
    assert bare["data"]["stage_name"] == "Won" and "contacts" not in bare["data"]
    assert email not in deals_only.received[0].body.decode()
    assert str(seeded["target"]) not in deals_only.received[0].body.decode()
    (named,) = bodies(names_only)
    assert [c["id"] for c in named["data"]["contacts"]] == [str(seeded["target"])]
    assert set(named["data"]["contacts"][0]) == {"id", "first_name", "last_name"}
    assert email not in names_only.received[0].body.decode()
    (full,) = bodies(everything)
    assert full["data"]["contacts"][0]["emails"] == [email]
    stored = [d["payload"] for d in await deliveries(tenant_a)]
    assert sum(email in p for p in stored) == 1  # only the one allowed holds it


async def test_an_event_outside_the_scopes_is_refused_by_the_form_and_never_delivered(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    receiver = receivers[0]
    refused = await client_a.post_form(
        "/settings/webhooks",
        {"url": receiver.url, "events": ["contact.created", "deal.moved"], "scopes": "deals:read"},
        htmx=True,
    )
    assert refused.status_code == 422, refused.text[:500]
    assert "Contact created: this webhook may not read that. Tick Contacts" in refused.text
    assert 'value="deals:read" id="scope-3" checked' in refused.text  # the input shown back
    none = await client_a.post_form(
        "/settings/webhooks", {"url": receiver.url, "events": "member.joined"}, htmx=True
    )
    assert none.status_code == 422 and "Tick Members under" in none.text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from webhook_subscriptions") == 0

    # the same on the edit form
    hook_id, _ = await subscribe(client_a, receiver.url, ["deal.moved"])
    edit = {"url": receiver.url, "events": ["contact.created"], "version": "1"}
    edit["scopes"] = "deals:read"
    page = await client_a.post_form(f"/settings/webhooks/{hook_id}/edit", edit)
    assert page.status_code == 422 and "Tick Contacts" in page.text
    assert (await hook_row(tenant_a))["events"] == ["deal.moved"]

    # a row whose events reach past its scopes (written around the form) still gets nothing
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update webhook_subscriptions set events = $1", ["contact.created"])
    await new_contact(tenant_a)
    assert await deliveries(tenant_a) == [] and receiver.received == []


async def test_narrower_scopes_cut_pending_deliveries_and_redeliveries(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    receiver = receivers[0]
    events = ["contact.created", "deal.moved"]
    hook_id, _ = await subscribe(client_a, receiver.url, events, personal=True)
    base = f"/settings/webhooks/{hook_id}"
    await new_contact(tenant_a)
    assert await drain(tenant_a) == ["delivered"]
    assert bodies(receiver)[0]["data"]["emails"] == [EMAIL]
    delivered = (await deliveries(tenant_a))[0]["id"]
    await receiver.stop()
    await new_contact(tenant_a, "Grace")  # pending: the receiver is down
    assert await drain(tenant_a) == ["pending"]

    # personal data off: the pending body loses the emails before it is ever sent
    edit: Any = {"url": receiver.url, "events": events, "version": "1"}
    edit["scopes"] = ["contacts:read", "deals:read"]
    assert (await client_a.post_form(base + "/edit", edit)).status_code == 303
    pending = [d for d in await deliveries(tenant_a) if d["status"] == "pending"]
    assert len(pending) == 1 and EMAIL not in pending[0]["payload"]
    assert json.loads(pending[0]["payload"])["data"]["first_name"] == "Grace"
    # and "Send again" of the delivered one sends it cut to what the webhook may read now
    again = await client_a.post_form(f"{base}/deliveries/{delivered}/redeliver")
    assert again.status_code == 303
    newest = (await deliveries(tenant_a))[-1]
    assert newest["redelivery_of"] == delivered and EMAIL not in newest["payload"]

    # contacts no longer readable: pending contact deliveries are given up, none is sent again
    edit = {"url": receiver.url, "events": "deal.moved", "scopes": "deals:read", "version": "2"}
    assert (await client_a.post_form(base + "/edit", edit)).status_code == 303
    rows = await deliveries(tenant_a)
    assert all(d["status"] == "failed" for d in rows if d["status"] != "delivered")
    assert "no longer read" in (rows[-1]["error"] or "")
    refused = await client_a.post_form(f"{base}/deliveries/{delivered}/redeliver")
    assert refused.status_code == 422 and "be sent again: the webhook may no longer" in refused.text
    assert len(await deliveries(tenant_a)) == len(rows)
    await receiver.start()
    assert await drain(tenant_a) == []
    assert len(receiver.received) == 1  # only the first, before any of this


async def test_two_workspaces_each_get_their_own_cut(
    client_a: BrowserClient,
    client_b: BrowserClient,
    tenant_a: Account,
    tenant_b: Account,
    receivers: tuple[Receiver, Receiver, Receiver],
) -> None:
    for_a, for_b, _ = receivers
    hook_a, _ = await subscribe(client_a, for_a.url, ["contact.created"], personal=True)
    await subscribe(client_b, for_b.url, ["contact.created"], personal=False)
    await new_contact(tenant_a, "Alice")
    await new_contact(tenant_b, "Bob")
    await drain(tenant_a)
    await drain(tenant_b)
    assert [b["data"]["first_name"] for b in bodies(for_a)] == ["Alice"]
    assert [b["data"]["first_name"] for b in bodies(for_b)] == ["Bob"]
    assert bodies(for_a)[0]["data"]["emails"] == [EMAIL]
    assert "emails" not in bodies(for_b)[0]["data"]
    # B can neither read nor change what A's webhook may read
    base = f"/settings/webhooks/{hook_a}"
    assert (await client_b.get(base + "/edit")).status_code == 404
    edit: Any = {"url": for_a.url, "events": "contact.created", "version": "1"}
    edit.update(scopes="contacts:read", personal_data="")
    assert (await client_b.post_form(base + "/edit", edit)).status_code == 404
    assert (await hook_row(tenant_a))["personal_data"] is True


HOSTILE = [
    {"scopes": "contacts:read\x00"},
    {"scopes": "contacts:read\x07"},
    {"scopes": "c" * 100_000},
    {"scopes": "contacts:réad"},
    {"scopes": "контакты:read"},
    {"scopes": "contacts:write"},  # a token scope, but webhooks only read
    {"scopes": "pipelines:read"},  # a token scope no event needs: not offered here
    {"scopes": ["contacts:read", "'; drop table webhook_subscriptions; --"]},
    {"scopes": "contacts:read", "personal_data": "maybe"},
    {"scopes": "contacts:read", "personal_data": "on\x00"},
    {"scopes": "contacts:read", "personal_data": "ä" * 100_000},
    {"scopes": "contacts:read", "personal_data": ["on", "off"]},
]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_scope_values_are_refused_with_a_message(
    client_a: BrowserClient, tenant_a: Account, hostile: dict[str, Any]
) -> None:
    data = {"url": "http://127.0.0.1:9/x", "events": "contact.created", **hostile}
    response = await client_a.post_form("/settings/webhooks", data, htmx=True)
    assert response.status_code == 422, response.text[:500]
    assert 'role="alert"' in response.text and "\x00" not in response.text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from webhook_subscriptions") == 0


async def test_hostile_values_on_the_edit_form_change_nothing(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    hook_id, _ = await subscribe(client_a, receivers[0].url, ["contact.created"], personal=False)
    for hostile in HOSTILE:
        data = {"url": receivers[0].url, "events": "contact.created", "version": "1", **hostile}
        page = await client_a.post_form(f"/settings/webhooks/{hook_id}/edit", data)
        assert page.status_code == 422, (hostile, page.text[:500])
    row = await hook_row(tenant_a)
    assert (row["scopes"], row["personal_data"], row["version"]) == (["contacts:read"], False, 1)


async def test_the_pages_show_scopes_and_an_edit_turning_on_personal_data_is_alerted(
    client_a: BrowserClient, tenant_a: Account, receivers: tuple[Receiver, Receiver, Receiver]
) -> None:
    hook_id, _ = await subscribe(client_a, receivers[0].url, ["contact.created"], personal=False)
    base = f"/settings/webhooks/{hook_id}"
    listing = await client_a.get("/settings/webhooks")
    assert "May read" in listing.text and "Include personal data" in listing.text
    form = await client_a.get(base + "/edit")
    assert 'value="contacts:read" id="scope-1" checked' in form.text
    assert 'id="personal-data" aria-describedby="personal-help">' in form.text  # unticked
    edit: Any = {"url": receivers[0].url, "events": "contact.created", "version": "1"}
    edit.update(scopes=["contacts:read", "companies:read"], personal_data="on")
    assert (await client_a.post_form(base + "/edit", edit)).status_code == 303
    row = await hook_row(tenant_a)
    assert (row["scopes"], row["personal_data"]) == (["contacts:read", "companies:read"], True)
    page = await client_a.get(base)
    assert "May read: Contacts, Companies" in page.text and "Personal data included" in page.text
    assert (
        'id="personal-data" aria-describedby="personal-help" checked'
        in (await client_a.get(base + "/edit")).text
    )
    # a form opened before that save: 409, saying what the scopes were saved as meanwhile
    edit.update(scopes="contacts:read", personal_data="")
    stale = await client_a.post_form(base + "/edit", edit)
    assert stale.status_code == 409 and "Saved meanwhile as" in stale.text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        alerts = await conn.fetch("select kind, details from security_alerts order by created_at")
        audit = await conn.fetch("select action, details from audit_log order by created_at")
    assert [a["kind"] for a in alerts] == ["webhook_created", "webhook_created"]
    assert "included" in str(alerts[-1]["details"])
    assert any(
        a["action"] == "webhooks.updated" and "Companies" in str(a["details"]) for a in audit
    )


async def test_members_cannot_manage_scopes_admins_can(
    app: Any,
    client_a: BrowserClient,
    tenant_a: Account,
    receivers: tuple[Receiver, Receiver, Receiver],
) -> None:
    hook_id, _ = await subscribe(client_a, receivers[0].url, ["contact.created"], personal=False)
    edit: Any = {"url": receivers[0].url, "events": "contact.created", "version": "1"}
    edit.update(scopes="contacts:read", personal_data="on")
    member = await add_member(tenant_a, "member")
    async with browser_client(app) as client:
        await client.login(member.email, member.password)
        assert (await client.get(f"/settings/webhooks/{hook_id}/edit")).status_code == 403
        assert (
            await client.post_form(f"/settings/webhooks/{hook_id}/edit", edit)
        ).status_code == 403
        new = {"url": receivers[1].url, "events": "contact.created", "scopes": "contacts:read"}
        assert (await client.post_form("/settings/webhooks", new)).status_code == 403
    assert (await hook_row(tenant_a))["personal_data"] is False
    admin = await add_member(tenant_a, "admin")
    async with browser_client(app) as client:
        await client.login(admin.email, admin.password)
        saved = await client.post_form(f"/settings/webhooks/{hook_id}/edit", edit)
        assert saved.status_code == 303
    assert (await hook_row(tenant_a))["personal_data"] is True


async def test_the_migration_gives_existing_webhooks_what_their_events_need(
    tenant_a: Account,
) -> None:
    """The backfill (run again here on rows that look like before it) grants each webhook the
    scopes its events need and keeps personal data: what they receive does not change."""
    sql = (MIGRATION / "webhooks_2026_12_03t07_53_00_000000.py").read_text()
    backfill = "update webhook_subscriptions" + sql.split("update webhook_subscriptions", 1)[1]
    backfill = backfill.split(";", 1)[0]
    cases = [
        ["contact.created", "contact.deleted"],
        ["deal.moved", "invoice.paid", "member.joined"],
        list(EVENTS),
    ]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for events in cases:
            await conn.execute(
                "insert into webhook_subscriptions (id, tenant_id, url, events, secret_enc)"
                " values ($1, $2, 'http://127.0.0.1:9/x', $3, 'x')",
                uuid.uuid4(),
                tenant_a.tenant_id,
                events,
            )
        assert (
            await conn.fetchval("select bool_or(personal_data) from webhook_subscriptions") is False
        )
        await conn.execute(backfill)
        rows = await conn.fetch("select events, scopes, personal_data from webhook_subscriptions")
    for row in rows:
        assert row["personal_data"] is True
        assert sorted(row["scopes"]) == sorted(scopes.scopes_for(row["events"]))
