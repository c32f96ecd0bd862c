"""Audit log: append-only for the app role, hash-chained per tenant, verified by `odex`."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import asyncpg
import pytest

from app.core.db import tenant_transaction
from app.security.audit import record_audit, verify_chain
from tests.helpers import Account


async def _seed(account: Account, n: int = 4) -> None:
    for i in range(n):
        await record_audit(
            account.tenant_id, account.user_id, "deal.updated", f"Deal {i}", {"amount": i}
        )


async def test_chain_verifies_and_app_role_cannot_rewrite_it(
    tenant_a: Account, tenant_b: Account
) -> None:
    await _seed(tenant_a)
    await _seed(tenant_b, 2)
    report = await verify_chain(tenant_a.tenant_id)
    assert report.ok and report.checked >= 4
    for sql in (
        "update audit_log set target = 'x' where tenant_id = $1",
        "delete from audit_log where tenant_id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with tenant_transaction(tenant_a.tenant_id) as conn:
                await conn.execute(sql, tenant_a.tenant_id)
    async with tenant_transaction(tenant_b.tenant_id) as conn:  # B sees only its own entries
        actions = await conn.fetch("select distinct tenant_id from audit_log")
    assert [r["tenant_id"] for r in actions] == [tenant_b.tenant_id]


async def _audit_verify(services: dict[str, str], account: Account) -> tuple[int, str]:
    """Run `odex audit-verify --tenant …` as a real subprocess."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "audit-verify",
        "--tenant",
        str(account.tenant_id),
        env={**os.environ, **services},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode()


async def _as_owner_in(owner_conn: Any, account: Account) -> None:
    await owner_conn.execute(
        "select set_config('app.tenant_id', $1, false)", str(account.tenant_id)
    )


async def test_altered_entry_is_the_first_broken_link(
    tenant_a: Account, tenant_b: Account, owner_conn: Any, services: dict[str, str]
) -> None:
    await _seed(tenant_a)
    await _seed(tenant_b)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        first = await conn.fetchval("select min(seq) from audit_log where action = 'deal.updated'")
    await _as_owner_in(owner_conn, tenant_a)
    await owner_conn.execute(
        "update audit_log set details = '{\"amount\": 1000}' where seq = $1", first + 1
    )
    report = await verify_chain(tenant_a.tenant_id)
    assert not report.ok and report.broken_seq == first + 1
    assert report.reason == "entry was altered"
    assert (await verify_chain(tenant_b.tenant_id)).ok

    code, out = await _audit_verify(services, tenant_a)
    assert code == 1
    assert f"BROKEN at entry {first + 1}: entry was altered" in out
    code, out = await _audit_verify(services, tenant_b)
    assert code == 0 and ": ok (" in out


async def test_removed_entries_are_detected(tenant_a: Account, owner_conn: Any) -> None:
    await _seed(tenant_a, 3)
    await _as_owner_in(owner_conn, tenant_a)
    last = await owner_conn.fetchval("select max(seq) from audit_log")
    await owner_conn.execute("delete from audit_log where seq = $1", last)  # cut the tail
    report = await verify_chain(tenant_a.tenant_id)
    assert report.broken_seq == last and "removed" in report.reason
    await owner_conn.execute("delete from audit_log where seq = 1")  # cut the head
    report = await verify_chain(tenant_a.tenant_id)
    assert report.broken_seq == 1 and report.reason == "entry missing"


async def test_admins_view_filter_and_export_the_log(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from tests.security.helpers import FIREFOX, add_member, browser

    await record_audit(tenant_a.tenant_id, tenant_a.user_id, "contact.exported", "=HYPERLINK(1)")
    await record_audit(tenant_a.tenant_id, None, "billing.plan_changed", "Pro plan", {"seats": 5})
    await record_audit(tenant_b.tenant_id, tenant_b.user_id, "contact.exported", "B secret list")

    page = await client_a.get("/settings/audit")
    assert page.status_code == 200
    assert "contact.exported" in page.text and "billing.plan_changed" in page.text
    assert "seats: 5" in page.text and "B secret list" not in page.text

    only = await client_a.get(
        "/settings/audit?action=billing.plan_changed", headers={"HX-Request": "true"}
    )
    assert "<html" not in only.text and 'id="audit-results"' in only.text
    assert "Pro plan" in only.text and "HYPERLINK" not in only.text

    csv_response = await client_a.get("/settings/audit/export.csv?action=contact.exported")
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    lines = csv_response.text.strip().splitlines()
    assert lines[0].startswith("seq,created_at,actor_id,actor_label,action,target,details")
    assert len(lines) == 2 and "'=HYPERLINK(1)" in lines[1]  # formula neutralised
    assert "B secret list" not in csv_response.text
    assert "security.audit_exported" in (await client_a.get("/settings/audit")).text

    member = await add_member(tenant_a)
    async with browser(app, FIREFOX) as tab:
        await tab.login(member.email, member.password)
        assert (await tab.get("/settings/audit")).status_code == 403
        assert (await tab.get("/settings/audit/export.csv")).status_code == 403
