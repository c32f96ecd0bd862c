"""Right of access: the my-data page shows everything held about the user (every place on the
data map with a reader), nothing of others, and pages through long lists instead of cutting
them off."""

from __future__ import annotations

import html
import re
from typing import Any

from app.core import datamap
from app.core.crypto import bind, encrypt_text
from app.core.db import global_transaction, tenant_transaction
from app.notifications.services import notify
from app.privacy import mydata
from app.privacy.usage import flush_usage_events
from app.support.services import Inquiry, submit_inquiry
from tests.helpers import Account

NEXT = re.compile(r'href="(/settings/my-data/more\?[^"]+)"')


async def test_my_data_shows_everything_and_nothing_else(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id):
        await notify(tenant_a.tenant_id, tenant_a.user_id, "test", "Hello from the feed A")
    async with tenant_transaction(tenant_b.tenant_id):
        await notify(tenant_b.tenant_id, tenant_b.user_id, "test", "Hello from the feed B")
    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    await client_a.get("/app")
    await client_b.get("/app")
    await flush_usage_events()
    await submit_inquiry(
        Inquiry("Ann", tenant_a.email, "privacy", "Where is my data?", "Tell me"),
        tenant_a.user_id,
        "10.0.0.1",
    )
    await submit_inquiry(
        Inquiry("Bob", tenant_b.email, "billing", "B's ticket", "Other"), tenant_b.user_id, "::1"
    )
    await client_a.post_form("/settings/export", {})  # a security alert and an audit entry
    async with global_transaction() as conn:  # MFA on (as the enrolment would leave it)
        await conn.execute(
            "insert into user_mfa (user_id, secret_enc, enabled_at) values ($1, $2, now())",
            tenant_a.user_id,
            encrypt_text(
                "JBSWY3DPEHPK3PXP", binding=bind("user_mfa", "secret_enc", tenant_a.user_id)
            ),
        )
    page = await client_a.get("/settings/my-data")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for place in mydata.readers():  # every reader on the data map has its section
        assert f'id="{mydata.slug(place)}"' in text, place.name
    for expected in (
        tenant_a.email,
        tenant_a.name,
        tenant_a.company,
        "owner",
        "this browser",  # the current session
        "granted (analytics)",
        "analytics: page",
        "security: login",
        "Hello from the feed A",
        "Billing details we hold",
        "Where is my data?",  # support tickets
        "Known devices",
        "requested a data export",  # security alerts about the user
        "security.export_requested",  # audit entries about the user
    ):
        assert expected in text, expected
    mfa = text.split('id="md-table-user-mfa"')[1].split("</section>")[0]
    assert '<td class="text-break">on</td>' in mfa
    for other in (tenant_b.email, tenant_b.company, "Hello from the feed B", "B's ticket"):
        assert other not in text
    assert "password_hash" not in text and "$argon2" not in text


async def test_long_sections_page_instead_of_stopping(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id):
        for i in range(120):
            await notify(tenant_a.tenant_id, tenant_a.user_id, "test", f"Note number {i:03}")
    page = (await client_a.get("/settings/my-data")).text
    section = page.split('id="md-table-notifications"')[1].split("</section>")[0]
    assert "120</span>" in section and f"Showing {mydata.PAGE} of 120" in section
    seen = set(re.findall(r"Note number \d{3}", section))
    pages = 1
    while link := NEXT.search(section):
        url = html.unescape(link.group(1))
        fragment = await client_a.get(url, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        full = await client_a.get(url)  # without htmx: a page of its own
        assert "<html" in full.text and 'id="md-table-notifications"' in full.text
        restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
        assert "<html" in (await client_a.get(url, headers=restore)).text  # Back button
        section = fragment.text
        seen |= set(re.findall(r"Note number \d{3}", section))
        pages += 1
    assert len(seen) == 120 and pages == -(-120 // mydata.PAGE)
    assert "That is all." in section
    bad = await client_a.get("/settings/my-data/more?place=table:contacts")
    assert bad.status_code == 404  # no reader there
    assert {p.name for p in mydata.readers()} <= {p.name for p in datamap.places()}
