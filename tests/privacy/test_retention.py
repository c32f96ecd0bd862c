"""Retention sweeps: uploads go when their import finishes or is never started, sent mail and
used tokens after their time; what is still in use stays."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.core.db import global_transaction, tenant_transaction
from app.crm.imports import import_path
from app.privacy.retention import apply_retention
from tests.crm.test_import import import_id_of, upload
from tests.helpers import Account, run_jobs


async def test_uploads_go_when_the_import_finishes_or_never_starts(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    tenant = tenant_a.tenant_id
    finished = import_id_of(await upload(client_a, b"Name,Email\nAda Byron,ada@example.com\n"))
    mapping = {"col_0": "full_name", "col_1": "emails"}
    assert (await client_a.post_form(f"/imports/{finished}/run", mapping)).status_code == 303
    await run_jobs()
    assert not import_path(tenant, UUID(finished)).exists()  # gone with the import's end
    page = await client_a.get(f"/imports/{finished}")
    assert page.status_code == 200 and "Import finished" in page.text

    abandoned = import_id_of(await upload(client_a, b"Name,Email\nBo Peep,bo@example.com\n"))
    fresh = import_id_of(await upload(client_a, b"Name,Email\nCy Young,cy@example.com\n"))
    async with tenant_transaction(tenant) as conn:
        await conn.execute(
            "update crm_imports set updated_at = now() - interval '2 days' where id = $1",
            UUID(abandoned),
        )
    done = await apply_retention(force=True)
    assert done["file:imports"] >= 1
    assert not import_path(tenant, UUID(abandoned)).exists()
    assert import_path(tenant, UUID(fresh)).exists()  # still within CRM_UPLOAD_KEEP_HOURS
    async with tenant_transaction(tenant) as conn:
        status, error = await conn.fetchrow(
            "select status, error from crm_imports where id = $1", UUID(abandoned)
        )
    assert status == "failed" and "never imported" in error
    started = await client_a.post_form(f"/imports/{abandoned}/run", mapping)
    assert started.status_code == 303  # a failed import may be run again…
    await run_jobs()
    async with tenant_transaction(tenant) as conn:  # …and says the file is gone
        status, error = await conn.fetchrow(
            "select status, error from crm_imports where id = $1", UUID(abandoned)
        )
    assert status == "failed" and "no longer kept" in error


async def test_sent_mail_and_used_tokens_expire(tenant_a: Account, tenant_b: Account) -> None:
    marker = uuid.uuid4().hex
    async with global_transaction() as conn:
        for age, kind, to in (
            ("40 days", "security_alert", tenant_a.email),  # old: goes
            ("1 day", "security_alert", tenant_a.email),  # recent: stays
            ("1 minute", "deletion", f"gone-{marker}@example.com"),  # to a deleted account
        ):
            await conn.execute(
                "insert into outbox (kind, to_addr, subject, body_text, sent_at)"
                " values ($1, $2, $3, 'x', now() - $4::text::interval)",
                kind,
                to,
                f"{marker} {age}",
                age,
            )
        for used in ("2 days", None):
            await conn.execute(
                "insert into email_tokens (token_hash, purpose, user_id, email, expires_at,"
                " used_at) values ($1, 'reset', $2, $3, now() + interval '1 hour',"
                " now() - $4::text::interval)",
                f"{marker}-{used}",
                tenant_a.user_id,
                tenant_a.email,
                used,
            )
    await apply_retention(force=True)
    async with global_transaction() as conn:
        left = [
            r["subject"]
            for r in await conn.fetch(
                "select subject from outbox where subject like $1", f"{marker}%"
            )
        ]
        tokens = [
            r["token_hash"]
            for r in await conn.fetch(
                "select token_hash from email_tokens where token_hash like $1", f"{marker}%"
            )
        ]
    assert left == [f"{marker} 1 day"]
    assert tokens == [f"{marker}-None"]  # unused and not expired: still a working link
    await apply_retention()  # the cron's own run (at worker start, then daily)…
    assert await apply_retention() == {}  # …happens once a day
