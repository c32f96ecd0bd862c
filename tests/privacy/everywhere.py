"""Put a person's (and their workspace's) data in every place on the data map, the way the app
itself writes it wherever it can: a signed-in browser, consent, usage, an export, an upload,
support, a failed login, a reset link, MFA, presence, a queued job, CRM records, billing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from app.accounts.services import load_current, request_password_reset
from app.billing.stripe_client import TEST_SUB_PREFIX
from app.core import datamap
from app.core.crypto import bind, encrypt_text
from app.core.datamap import Place, Subject
from app.core.db import global_transaction, tenant_transaction
from app.core.mail_attachments import Attachment
from app.core.mail_attachments import store as store_attachments
from app.core.redis import queue, redis
from app.crm.secure import import_error_binding, note_binding, seal_contact, seal_list
from app.notifications.services import notify
from app.privacy import policy
from app.privacy.usage import flush_usage_events
from app.realtime import presence
from app.support.services import Inquiry, submit_inquiry
from tests.crm.test_import import import_id_of, upload
from tests.helpers import browser_client, run_jobs
from tests.privacy.seed import seed_crm


@dataclass
class Person:
    user_id: UUID
    tenant_id: UUID
    email: str
    name: str
    password: str


def scannable(place: Place) -> bool:
    """Can the deletion report find a subject in this place at all? (A visitor's events, for
    one, are linked to nobody; the report itself names no one.)"""
    return bool(
        place.user_columns
        or place.workspace_columns
        or place.text_columns
        or place.tenant_scoped
        or place.scan
        or place.kind == "redis"
    )


def expected_places() -> set[str]:
    return {p.name for p in datamap.places() if not p.kept and scannable(p)}


async def seed_person(app: Any, who: Person, *, staff_extras: bool = False) -> None:
    """The person's own data, everywhere (signed in through a real browser client)."""
    tenant = who.tenant_id
    async with global_transaction() as conn:
        await conn.execute(  # Stripe's copy of the customer names the person
            "insert into stripe_events (id, type, created, payload) values ($1, 'customer.updated',"
            " 1, $2::jsonb)",
            "evt_" + uuid.uuid4().hex,
            json.dumps({"data": {"object": {"email": who.email, "metadata": {"t": str(tenant)}}}}),
        )
        if staff_extras:  # what only staff do: acknowledge an operator alert
            await conn.execute(
                "insert into operator_alerts (id, kind, summary, acknowledged_at, acknowledged_by)"
                " values ($1, 'backup_failed', 'disk full', now(), $2)",
                uuid.uuid4(),
                who.user_id,
            )
    async with browser_client(app) as browser:
        await browser.login(who.email, who.password)  # session, known device
        await browser.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
        await browser.get("/app")
        await flush_usage_events()
        await browser.post_form("/settings/export", {})  # export, alert, audit, mail
        await run_jobs()
        import_id_of(await upload(browser, f"Name,Email\nX Y,{who.email}\n".encode()))
        await browser.get("/contacts")  # a usage event still waiting in the buffer
        made = await browser.post_form(  # an API token (its name, scopes, last use)
            "/settings/api-tokens", {"name": f"{who.name}'s script", "scopes": "contacts:read"}
        )
        assert made.status_code == 200 and 'id="new-token-value"' in made.text
        saved = await browser.post_form(  # a saved view of a list (its name, its search)
            "/views", {"kind": "contacts", "name": f"{who.name}'s view", "query": "q=vip"}
        )
        assert saved.status_code == 303, saved.text[:300]
        made = await browser.post_form(
            "/contacts/new", {"first_name": "Bulk", "last_name": "Tagged"}
        )
        contact_id = made.headers["location"].rsplit("/", 1)[1]
        tagged = await browser.post_form(  # a bulk change (its actor), kept for its undo
            "/contacts/bulk",
            {"action": "add_tag", "tag": "bulk", "ids": contact_id, "confirmed": "1"},
        )
        assert tagged.status_code == 303, tagged.text[:300]
        async with tenant_transaction(who.tenant_id) as conn:  # a view too large for a request
            await conn.execute(
                "insert into contacts (id, tenant_id, first_name, tags) select"
                " gen_random_uuid(), $1, 'Bulk job', array['bulkjob']"
                " from generate_series(1, 201)",
                who.tenant_id,
            )
        queued = await browser.post_form(  # a bulk job: its frozen selection (bulk_items)
            "/contacts/bulk",
            {
                "action": "add_tag",
                "tag": "job",
                "scope": "view",
                "view_query": "tags_op=any&tags=bulkjob",
                "confirmed": "1",
            },
        )
        assert queued.status_code == 303, queued.text[:300]
    async with browser_client(app) as stranger:  # a failed sign-in: a lockout counter
        await stranger.refresh_csrf("/login")
        await stranger.post_form("/login", {"email": who.email, "password": "wrong password"})
    await request_password_reset(who.email)  # a mailed token
    await submit_inquiry(
        Inquiry(who.name, who.email, "privacy", "My data", f"Write to me at {who.email}"),
        who.user_id,
        "10.9.8.7",
    )
    await policy.acknowledge(who.user_id, 1)
    async with global_transaction() as conn:
        await conn.execute(
            "insert into policy_notices (version, user_id) values (1, $1) on conflict do nothing",
            who.user_id,
        )
    async with tenant_transaction(tenant):
        await notify(tenant, who.user_id, "test", f"Hello {who.name}")
    async with global_transaction() as conn:  # MFA on, with a recovery code (signed in)
        await conn.execute(
            "insert into user_mfa (user_id, secret_enc, enabled_at) values ($1, $2, now())",
            who.user_id,
            encrypt_text("JBSWY3DPEHPK3PXP", binding=bind("user_mfa", "secret_enc", who.user_id)),
        )
        await conn.execute(
            "insert into mfa_recovery_codes (id, user_id, code_hash) values ($1, $2, 'x')",
            uuid.uuid4(),
            who.user_id,
        )
    await presence.join(tenant, "board:x", "socket-1", who.user_id, who.name)
    await queue().enqueue_job("flush_usage_events", _job_id=f"probe:{who.user_id}")
    ids = await seed_crm(tenant, who.user_id, uuid.uuid4().hex[:6])
    async with tenant_transaction(tenant) as conn:
        for table in ("contacts", "companies"):
            await conn.execute(f"update {table} set owner_id = $1", who.user_id)
        await conn.execute("update invoices set created_by = $1", who.user_id)
        await conn.execute(  # the person sent an invoice, and was its recipient
            "insert into invoice_sends (id, tenant_id, invoice_id, sent_by, to_addr, subject)"
            " values ($1, $2, $3, $4, $5, 'Invoice')",
            uuid.uuid4(),
            tenant,
            ids["invoice"],
            who.user_id,
            who.email,
        )
        await conn.execute(
            "insert into seller_details (tenant_id, legal_name, updated_by) values ($1, 'S', $2)"
            " on conflict (tenant_id) do update set updated_by = $2",
            tenant,
            who.user_id,
        )
        await conn.execute(
            "insert into exchange_rates (tenant_id, currency, rate) values ($1, 'USD', 0.9)"
            " on conflict do nothing",
            tenant,
        )
        await conn.execute(
            "insert into invitations (id, tenant_id, email, role, invited_by, expires_at,"
            " accepted_at) values ($1, $2, $3, 'member', null, now(), now())",
            uuid.uuid4(),
            tenant,
            who.email,
        )
        note_id = uuid.uuid4()  # a colleague's note that mentions the person
        await conn.execute(
            "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
            " values ($1, $2, 'deal', $3, $4)",
            note_id,
            tenant,
            ids["deal"],
            encrypt_text(
                f"Ask @{who.name} ({who.email}) about it", binding=note_binding(tenant, note_id)
            ),
        )
        hook_id = uuid.uuid4()  # a webhook the person added, and a delivery about them
        await conn.execute(
            "insert into webhook_subscriptions (id, tenant_id, url, events, secret_enc,"
            " created_by) values ($1, $2, 'https://hooks.example.com/in', '{member.joined}',"
            " 'x', $3)",
            hook_id,
            tenant,
            who.user_id,
        )
        await conn.execute(
            "insert into webhook_deliveries (id, tenant_id, subscription_id, event_id, event,"
            " order_key, payload, status) values ($1, $2, $3, $1, 'member.joined', $4, $5,"
            " 'delivered')",
            uuid.uuid4(),
            tenant,
            hook_id,
            f"member:{who.user_id}",
            json.dumps({"data": {"object": "member", "user_id": str(who.user_id)}}),
        )


async def seed_workspace(who: Person) -> None:
    """What only a workspace has: billing, counters, settings, a custom field, a failed import
    row."""
    tenant = who.tenant_id
    current = await load_current(who.user_id, tenant)
    assert current is not None
    from app.accounts.team import invite

    await invite(current, f"guest-{uuid.uuid4().hex[:8]}@example.com", "member")
    async with tenant_transaction(tenant) as conn:
        await conn.execute(
            "insert into billing_invoices (tenant_id, stripe_invoice_id, status)"
            " values ($1, 'in_1', 'paid')",
            tenant,
        )
        await conn.execute(
            "insert into invoice_counters (tenant_id, last_number) values ($1, 1)"
            " on conflict do nothing",
            tenant,
        )
        await conn.execute(
            "insert into tenant_security (tenant_id, mfa_required_for_owners) values ($1, true)",
            tenant,
        )
        phoned = uuid.uuid4()  # a contact with a phone number (its key: contact_phone_keys)
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, phones_enc, phones_bidx)"
            " values ($1, $2, 'Phoned', 'Contact', $3, $4)",
            phoned,
            tenant,
            *seal_contact([], ["+1 555 0100"], tenant, phoned)[2:],
        )
        await conn.execute(  # a custom field of the workspace's contacts
            "insert into custom_fields (id, tenant_id, object_kind, key, label, field_type)"
            " values ($1, $2, 'contact', 'tier', 'Tier', 'text')",
            uuid.uuid4(),
            tenant,
        )
        import_id, error_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "insert into crm_imports (id, tenant_id, kind, filename, status)"
            " values ($1, $2, 'contacts', 'x.csv', 'done')",
            import_id,
            tenant,
        )
        await conn.execute(
            "insert into crm_import_errors (id, tenant_id, import_id, row_number, reason, raw)"
            " values ($1, $2, $3, 2, 'bad', $4)",
            error_id,
            tenant,
            import_id,
            seal_list(["a@b.example"], import_error_binding(tenant, error_id)),
        )
    store_attachments(tenant, [Attachment("INV-00001.pdf", "application/pdf", b"%PDF-1.7")])
    await attach_sample(current)
    await redis().set(
        f"{TEST_SUB_PREFIX}sub_probe", json.dumps({"metadata": {"tenant_id": str(tenant)}})
    )
    await queue().enqueue_job("flush_usage_events", _job_id=f"probe:{tenant}")


async def attach_sample(current: Any) -> UUID:
    """A file attached to a contact of the workspace, through the real upload service."""
    from app.attachments.services import upload_attachment

    async with tenant_transaction(current.tenant_id) as conn:
        contact_id = await conn.fetchval("select id from contacts limit 1")
    assert contact_id is not None, "seed the CRM first"
    body = (
        b'--s\r\nContent-Disposition: form-data; name="file"; filename="sample.txt"'
        b"\r\n\r\nhello\r\n--s--\r\n"
    )

    async def chunks() -> Any:
        yield body

    row = await upload_attachment(
        current, "contact", contact_id, "multipart/form-data; boundary=s", chunks()
    )
    return row.id


async def found_places(subjects: list[Subject]) -> set[str]:
    """Every place where the deletion report finds one of the subjects."""
    from app.privacy.report import scan_place

    found = set()
    for place in datamap.places():
        for subject in subjects:
            if not place.kept and await scan_place(place, subject):
                found.add(place.name)
    return found
