"""Right of access: everything Odex holds about the signed-in user, gathered for one page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.useragent import classify
from app.privacy import consent, policy, usage
from app.security import sessions

# Billing tables of the workspace (app/billing) shown when present; card data is never held.
BILLING_TABLES = ("billing_accounts", "billing_customers", "billing_invoices")
HIDDEN_COLUMNS = {"tenant_id", "password_hash", "raw", "payload"}


async def sessions_of(user_id: UUID, current_sid: str | None = None) -> list[dict[str, Any]]:
    """The user's live sessions (app.security.sessions keeps a per-user index in Redis)."""
    current_key = sessions.session_key(current_sid) if current_sid else None
    found = []
    for key, session in await sessions.user_sessions(str(user_id)):
        found.append(
            {
                "ip": session.ip,
                "device": "{} on {} ({})".format(*classify(session.user_agent)),
                "created_at": datetime.fromtimestamp(session.created_at, UTC),
                "last_seen": datetime.fromtimestamp(session.last_seen, UTC),
                "current": key == current_key,
            }
        )
    return sorted(found, key=lambda s: s["last_seen"], reverse=True)


async def _billing(tenant_id: UUID) -> dict[str, list[dict[str, Any]]]:
    held: dict[str, list[dict[str, Any]]] = {}
    async with tenant_transaction(tenant_id) as conn:
        for table in BILLING_TABLES:
            if await conn.fetchval("select to_regclass($1)", f"public.{table}") is None:
                continue
            rows = await conn.fetch(f"select * from {table} limit 50")
            held[table] = [
                {k: v for k, v in dict(r).items() if k not in HIDDEN_COLUMNS} for r in rows
            ]
    return held


async def my_data(current: Current, sid: str | None, visitor_id: str | None) -> dict[str, Any]:
    """Account, company, memberships, sessions, consents, usage, notifications, billing."""
    async with global_transaction() as conn:
        account = await conn.fetchrow(
            "select id, name, email, email_verified_at, is_staff, created_at, updated_at "
            "from users where id = $1",
            current.user_id,
        )
    async with user_transaction(current.user_id) as conn:
        memberships = [
            dict(r)
            for r in await conn.fetch(
                "select tenant_id, role, created_at from memberships where user_id = $1 "
                "order by created_at",
                current.user_id,
            )
        ]
    for m in memberships:  # a member may read their own workspace's name
        async with tenant_transaction(m["tenant_id"]) as conn:
            m["tenant_name"] = await conn.fetchval(
                "select name from tenants where id = $1", m["tenant_id"]
            )
    async with tenant_transaction(current.tenant_id) as conn:
        company = await conn.fetchrow(
            "select id, name, status, created_at, updated_at from tenants where id = $1",
            current.tenant_id,
        )
        notifications = [
            dict(r)
            for r in await conn.fetch(
                "select created_at, kind, title, body, read_at from notifications "
                "where user_id = $1 order by created_at desc limit 100",
                current.user_id,
            )
        ]
    return {
        "account": dict(account) if account else {},
        "company": dict(company) if company else {},
        "memberships": memberships,
        "sessions": await sessions_of(current.user_id, sid),
        "consent_now": await consent.analytics_consent(str(current.user_id), visitor_id or ""),
        "consents": await consent.history(current.user_id, visitor_id),
        "policy_notices": await policy.notices_of(current.user_id),
        "policy_acks": await policy.acks_of(current.user_id),
        "usage": await usage.events_of_user(current.tenant_id, current.user_id),
        "notifications": notifications,
        "billing": await _billing(current.tenant_id),
    }
