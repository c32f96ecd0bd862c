"""Policy versions: 30-day notice (service and CHECK), notices exactly once, banner, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from app.accounts.services import load_current
from app.core.db import global_transaction, tenant_transaction
from app.core.errors import Forbidden, FormInvalid
from app.privacy import policy
from tests.helpers import Account, run_jobs


async def _staff(account: Account) -> Any:
    async with global_transaction() as conn:
        await conn.execute("update users set is_staff = true where id = $1", account.user_id)
    return await load_current(account.user_id, account.tenant_id)


async def test_policy_page_shows_version_1_and_processors(client: Any) -> None:
    page = await client.get("/privacy")
    assert page.status_code == 200
    for text in ("Information We Collect", "Version 1", "privacy@crmodex.com", "Your Rights"):
        assert text in page.text
    assert "<script" not in page.text.split('id="policy-history"')[0].split("policy-text")[1]
    processors = await client.get("/privacy/processors")
    for text in ("No separate provider", "email delivery", "AES-256-GCM", "privacy@crmodex.com"):
        assert text in processors.text
    assert "Hosting provider" not in processors.text  # no placeholder names
    assert "Stripe" not in processors.text  # billing in local test mode: nothing goes there


def test_processors_are_what_the_settings_say() -> None:
    import msgspec

    from app.privacy.processors import processors
    from app.settings import get_settings

    base = msgspec.structs.replace(
        get_settings(), stripe_secret_key="", backup_s3_bucket="", smtp_url="smtp://127.0.0.1:25"
    )
    assert [p["category"] for p in processors(base)] == ["hosting", "email delivery"]
    configured = msgspec.structs.replace(
        base,
        processor_hosting="Hetzner Online GmbH, Germany",
        stripe_secret_key="sk_live_x",
        smtp_url="smtp+starttls://user:pw@smtp.postmarkapp.com:587",
        backup_s3_bucket="offsite",
        backup_s3_endpoint="https://s3.eu-central-003.backblazeb2.com",
    )
    listed = {p["category"]: p for p in processors(configured)}
    assert listed["hosting"]["name"] == "Hetzner Online GmbH, Germany"
    assert listed["payment processing"]["name"] == "Stripe"
    assert listed["email delivery"]["name"] == "The mail server at smtp.postmarkapp.com (SMTP_URL)"
    assert "backblazeb2" in listed["backup storage"]["name"]
    assert "pw" not in str(listed)  # never the credentials of a URL
    named = msgspec.structs.replace(configured, processor_email="Postmark, USA")
    assert {p["name"] for p in processors(named)} >= {"Postmark, USA"}


async def test_markdown_is_rendered_safely() -> None:
    html = policy.render_markdown("# Title\n\n<script>alert(1)</script> **bold**")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


async def test_notice_shorter_than_30_days_is_refused(tenant_a: Account, raw_conn: Any) -> None:
    current = await _staff(tenant_a)
    soon = datetime.now(UTC) + timedelta(days=29)
    with pytest.raises(FormInvalid) as info:
        await policy.publish_version(current, "Shorter retention", soon)
    assert "30 days" in info.value.errors["effective_at"]
    with pytest.raises(asyncpg.CheckViolationError):  # the database refuses it too
        await raw_conn.execute(
            "insert into policy_versions (version, summary, effective_at) "
            "values (999, 'x', now() + interval '29 days')"
        )
    with pytest.raises(asyncpg.CheckViolationError):  # and backdating publication doesn't help
        await raw_conn.execute(
            "insert into policy_versions (version, summary, published_at, effective_at) "
            "values (999, 'x', now() - interval '10 days', now() + interval '25 days')"
        )


async def test_publish_notifies_every_user_exactly_once(
    tenant_a: Account, tenant_b: Account, client_a: Any, client_b: Any, mailbox: Any
) -> None:
    member = await load_current(tenant_b.user_id, tenant_b.tenant_id)
    assert member is not None
    with pytest.raises(Forbidden):
        await policy.publish_version(member, "x", datetime.now(UTC) + timedelta(days=40))
    current = await _staff(tenant_a)
    effective = datetime.now(UTC) + timedelta(days=30, minutes=1)
    version = await policy.publish_version(current, "We add a new email processor.", effective)
    await run_jobs()
    await policy.send_policy_notices(None, version)  # a second run (resume) sends nothing more
    await run_jobs()
    async with global_transaction() as conn:
        users = await conn.fetchval("select count(*) from users")
        notices = await conn.fetchval(
            "select count(*) from policy_notices where version = $1", version
        )
    assert notices == users
    for account in (tenant_a, tenant_b):
        mails = [m for m in mailbox.to(account.email) if "privacy policy changes" in m["Subject"]]
        assert len(mails) == 1
        async with tenant_transaction(account.tenant_id) as conn:
            feed = await conn.fetch(
                "select title from notifications where kind = 'policy' and user_id = $1",
                account.user_id,
            )
        assert len(feed) == 1

    # the banner shows until acknowledged; /privacy lists the upcoming version with its date
    page = await client_b.get("/app")
    assert 'id="policy-banner"' in page.text and "We add a new email processor." in page.text
    await client_b.post_form(
        "/privacy/acknowledge", {"policy_version": str(version), "next": "/app"}
    )
    page = await client_b.get("/app")
    assert 'id="policy-banner"' not in page.text
    assert 'id="policy-banner"' in (await client_a.get("/app")).text  # A has not acknowledged
    overview = await client_b.get("/privacy")
    assert f'id="upcoming-{version}"' in overview.text
    assert effective.strftime(f"{effective.day} %B %Y") in overview.text  # en-GB, the default
    old = await client_b.get(f"/privacy?version={version}")
    assert "We add a new email processor." in old.text
