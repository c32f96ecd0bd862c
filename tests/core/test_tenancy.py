"""Row-level security, proven against the real database as odex_app."""

from __future__ import annotations

import fnmatch
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.accounts.tables import Invitation, Membership, Tenant
from app.core import datamap
from app.core.db import CrossTenantNesting, engine, tenant_transaction
from tests.helpers import Account, run_jobs

# RLS by their own id rather than a tenant_id column (the tenants table itself).
RLS_TENANT_TABLES = {"tenants"}

# Tables without tenant_id that the app role may read, each with its reason (DESIGN.md §4).
GLOBAL_TABLES = {
    "migration": "Piccolo's record of applied migrations (odex_app may read it: /readyz)",
    "users": "login identity exists before and across workspaces; account data only",
    "email_tokens": "mailed single-use tokens redeemed by visitors without a workspace",
    "outbox": "the platform's service-mail queue, drained by the mail job",
    "stripe_events": "verified Stripe webhooks, stored before their tenant is known",
    "backups": "platform register of whole-database backups (files, sizes, checksums)",
    "support_tickets": "inquiries from visitors (signed in or not) to platform staff",
    "support_messages": "the thread of a support ticket (request, staff replies)",
    "consents": (
        "cookie consent of a person or anonymous browser, given before any workspace;"
        " append-only proof"
    ),
    "visitor_events": "usage/security events of visitors not signed in to a workspace",
    "deletion_requests": "minimal deletion record that must outlive the deleted workspace",
    "policy_versions": "the platform's privacy policy versions, the same for everyone",
    "policy_notices": "one change notice per user per policy version (exactly once)",
    "policy_acks": "a person's acknowledgement of a policy version, across workspaces",
    "user_mfa": "MFA of a login identity, checked before a workspace is chosen",
    "mfa_recovery_codes": "single-use MFA recovery codes (hashed) of a login identity",
    "known_devices": "devices (HMAC) a login identity signed in from, across workspaces",
    "deletion_reports": "the check after a deletion; must outlive the deleted workspace",
    "operator_alerts": "the platform operators' alerts (backups), not any workspace's",
    "job_runs": "leases of long jobs (function name, ids, worker, heartbeat): platform plumbing",
    "board_epoch": "one counter bumped when a person's name changes (kept boards show owners)",
    "record_epoch": "one counter bumped when a person's name changes (kept company pages)",
}


async def test_app_role_cannot_bypass_rls(raw_conn: Any) -> None:
    row = await raw_conn.fetchrow(
        "select rolsuper, rolbypassrls from pg_roles where rolname = current_user"
    )
    assert await raw_conn.fetchval("select current_user") == "odex_app"
    assert row["rolsuper"] is False and row["rolbypassrls"] is False


async def test_other_tenants_rows_are_invisible(tenant_a: Account, tenant_b: Account) -> None:
    async with tenant_transaction(tenant_a.tenant_id):
        tenants = await Tenant.select(Tenant.id)
        members = await Membership.select(Membership.tenant_id)
    assert [t["id"] for t in tenants] == [tenant_a.tenant_id]
    assert {m["tenant_id"] for m in members} == {tenant_a.tenant_id}


async def test_no_tenant_set_sees_nothing(raw_conn: Any, tenant_a: Account) -> None:
    assert await raw_conn.fetchval("select count(*) from memberships") == 0
    assert await raw_conn.fetchval("select count(*) from tenants") == 0
    # once set and reset, the variable reads back as '' (not NULL): still nothing, no error
    async with raw_conn.transaction():
        await raw_conn.execute(
            "select set_config('app.tenant_id', $1, true)", str(tenant_a.tenant_id)
        )
        assert await raw_conn.fetchval("select count(*) from tenants") == 1
    assert await raw_conn.fetchval("select count(*) from tenants") == 0


async def test_cannot_insert_update_or_delete_for_another_tenant(
    tenant_a: Account, tenant_b: Account
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # WITH CHECK refuses it
        async with tenant_transaction(tenant_a.tenant_id):
            await Invitation.insert(
                Invitation(
                    id=uuid.uuid4(),
                    tenant_id=tenant_b.tenant_id,
                    email="x@example.com",
                    role="member",
                    expires_at=datetime.now(UTC),
                )
            )
    async with tenant_transaction(tenant_a.tenant_id):
        changed = (
            await Membership.update({Membership.role: "member"})
            .where(Membership.tenant_id == tenant_b.tenant_id)
            .returning(Membership.id)
        )
        deleted = (
            await Membership.delete()
            .where(Membership.tenant_id == tenant_b.tenant_id)
            .returning(Membership.id)
        )
        assert changed == [] and deleted == []
        # moving one of A's rows into B is refused too
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with engine().transaction():
                await Membership.update({Membership.tenant_id: tenant_b.tenant_id}).where(
                    Membership.user_id == tenant_a.user_id
                )
    async with tenant_transaction(tenant_b.tenant_id):
        assert await Membership.count() == 1


async def test_setting_does_not_survive_on_pooled_connection(tenant_a: Account) -> None:
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        pid = await conn.fetchval("select pg_backend_pid()")
    pool = engine().pool
    assert pool is not None
    async with pool.acquire() as conn:  # the pool has idle connections; find the same one
        seen = await conn.fetchval("select current_setting('app.tenant_id', true)")
        same = await conn.fetchval("select pg_backend_pid()") == pid
        assert seen in ("", None)
        assert await conn.fetchval("select count(*) from tenants") == 0
    assert isinstance(same, bool)


async def test_nested_transaction_for_another_tenant_is_refused(
    tenant_a: Account, tenant_b: Account
) -> None:
    with pytest.raises(CrossTenantNesting):
        async with (
            tenant_transaction(tenant_a.tenant_id),
            tenant_transaction(tenant_b.tenant_id),
        ):
            pass


async def test_catalogue_every_table_is_rls_forced_or_listed_global(owner_conn: Any) -> None:
    rows = await owner_conn.fetch(
        """
        select c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policies p
                 where p.schemaname = 'public' and p.tablename = c.relname) as policies,
               exists (select 1 from pg_attribute a where a.attrelid = c.oid
                        and a.attname = 'tenant_id' and not a.attisdropped) as has_tenant
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')
        """
    )
    problems = []
    for r in rows:
        protected = r["relrowsecurity"] and r["relforcerowsecurity"] and r["policies"] > 0
        if r["relname"] in GLOBAL_TABLES:
            if r["has_tenant"]:
                problems.append(f"{r['relname']} has tenant_id but is listed as global")
        elif not protected:
            problems.append(f"{r['relname']} is neither RLS-forced with a policy nor global")
    assert not problems, problems
    assert {r["relname"] for r in rows} >= set(GLOBAL_TABLES) - {"migration"}


async def test_catalogue_every_table_is_on_the_data_map(owner_conn: Any) -> None:
    """A table nobody put on the data map (app/<domain>/datamap.py) is a table whose personal
    data no privacy feature knows about: access, export, erasure, deletion and purge miss it."""
    rows = await owner_conn.fetch(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname <> 'migration'"
    )
    mapped = datamap.tables()
    missing = sorted(r["relname"] for r in rows if r["relname"] not in mapped)
    assert not missing, f"tables not on the data map: {missing}"
    gone = sorted(set(mapped) - {r["relname"] for r in rows})
    assert not gone, f"the data map names tables that don't exist: {gone}"
    for name, place in mapped.items():  # a tenant table is purged with its workspace
        has_tenant = name in RLS_TENANT_TABLES or await owner_conn.fetchval(
            "select exists (select 1 from information_schema.columns where table_schema ="
            " 'public' and table_name = $1 and column_name = 'tenant_id')",
            name,
        )
        assert place.tenant_scoped == bool(has_tenant), name
        for column in (*place.user_columns, *place.workspace_columns, *place.text_columns):
            assert await owner_conn.fetchval(
                "select exists (select 1 from information_schema.columns where table_schema ="
                " 'public' and table_name = $1 and column_name = $2)",
                name,
                column,
            ), f"{name}.{column} is on the data map but not in the table"


# The test harness's own PostgreSQL folder (`make run` keeps it in postgres/, which is mapped).
HARNESS_FILES = ("pg/",)


async def test_catalogue_every_file_kind_is_on_the_data_map(
    client_a: Any, tenant_a: Account
) -> None:
    """Every file under the data dir (uploads, exports, backups…) belongs to a mapped kind."""
    from tests.attachments.test_attachments import png_bytes
    from tests.crm.test_import import upload
    from tests.crm.test_records import make_contact

    await upload(client_a, b"Name,Email\nAda Lovelace,ada@example.com\n")
    contact = await make_contact(client_a, "Filed", "Person")
    await client_a.post(
        f"/records/contact/{contact}/attachments",
        files={"file": ("scan.png", png_bytes(), "image/png")},
        headers={"X-CSRF-Token": client_a.csrf},
    )
    await client_a.post_form("/settings/export", {})
    await run_jobs()
    root = datamap.data_dir()
    patterns = datamap.file_patterns()
    seen, unmapped = 0, []
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(HARNESS_FILES) or not path.is_file():
            continue
        seen += 1
        if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
            unmapped.append(relative)
    assert seen and not unmapped, f"files of a kind not on the data map: {unmapped[:20]}"
    assert any(fnmatch.fnmatch(p.as_posix(), "imports/*/*") for p in _relative(root, "imports"))
    assert any(fnmatch.fnmatch(p.as_posix(), "exports/*/*") for p in _relative(root, "exports"))
    assert any(p.name.endswith(".thumb") for p in _relative(root, "attachments"))


def _relative(root: Path, folder: str) -> list[Path]:
    return [p.relative_to(root) for p in (root / folder).rglob("*") if p.is_file()]


async def test_catalogue_every_redis_key_is_on_the_data_map(
    client_a: Any, tenant_a: Account
) -> None:
    """Every key in Redis (sessions, rate limits, buffers, caches, jobs…) is of a mapped kind."""
    from app.core.redis import redis

    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    await client_a.get("/app")
    patterns = datamap.redis_patterns()
    keys = [key.decode() async for key in redis().scan_iter(count=1000)]
    unmapped = sorted(k for k in keys if not any(fnmatch.fnmatch(k, p) for p in patterns))
    assert keys and not unmapped, f"Redis keys of a kind not on the data map: {unmapped[:20]}"
