"""Row-level security, proven against the real database as odex_app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from app.accounts.tables import Invitation, Membership, Tenant
from app.core.db import CrossTenantNesting, engine, tenant_transaction
from tests.helpers import Account

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
    "job_runs": "leases of long jobs (function name, ids, worker, heartbeat): platform plumbing",
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
