"""A tenant's billing state: the account row, the plan in force, grace periods."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.billing.plans import Plan, plans

LIVE_STATUSES = ("active", "trialing")
FAILING_STATUSES = ("past_due", "unpaid")
ENDED_STATUSES_ALL = ("none", "canceled", "incomplete_expired")


class AccountState(msgspec.Struct, kw_only=True):
    """The billing_accounts row of one tenant (defaults when it has none yet)."""

    tenant_id: UUID
    plan: str = "free"
    status: str = "none"
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    stripe_price_id: str | None = None
    subscription_created: int | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    grace_until: datetime | None = None
    state_at: int = 0

    def in_grace(self, now: datetime | None = None) -> bool:
        """A failed payment, still inside the grace period: the paid plan stays on."""
        now = now or datetime.now(UTC)
        return (
            self.plan != "free"
            and self.status in FAILING_STATUSES
            and self.grace_until is not None
            and self.grace_until > now
        )

    def grace_expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return (
            self.plan != "free"
            and self.status in FAILING_STATUSES
            and (self.grace_until is None or self.grace_until <= now)
        )

    def effective_plan(self, now: datetime | None = None) -> Plan:
        """The plan whose limits apply now (Free once a subscription lapsed or grace ran out)."""
        catalogue = plans()
        paid = catalogue.get(self.plan)
        if paid is None or not paid.is_paid:
            return catalogue["free"]
        if self.status in LIVE_STATUSES or self.in_grace(now):
            return paid
        return catalogue["free"]


COLUMNS = (
    "plan, status, stripe_customer_id, stripe_subscription_id, stripe_price_id,"
    " subscription_created, current_period_end, cancel_at_period_end, trial_end, grace_until,"
    " state_at"
)


def _from_row(tenant_id: UUID, row: Any) -> AccountState:
    if row is None:
        return AccountState(tenant_id=tenant_id)
    return AccountState(tenant_id=tenant_id, **dict(row))


async def read_account(conn: asyncpg.Connection, tenant_id: UUID) -> AccountState:
    """The tenant's billing state (inside its tenant transaction)."""
    row = await conn.fetchrow(f"select {COLUMNS} from billing_accounts")
    return _from_row(tenant_id, row)


async def lock_account(conn: asyncpg.Connection, tenant_id: UUID) -> AccountState:
    """Create the row if needed and lock it: billing changes of one tenant run one at a time."""
    await conn.execute(
        "insert into billing_accounts (tenant_id) values ($1) on conflict (tenant_id) do nothing",
        tenant_id,
    )
    row = await conn.fetchrow(f"select {COLUMNS} from billing_accounts for update")
    return _from_row(tenant_id, row)


async def save_account(conn: asyncpg.Connection, state: AccountState) -> None:
    await conn.execute(
        "update billing_accounts set plan = $2, status = $3, stripe_customer_id = $4,"
        " stripe_subscription_id = $5, stripe_price_id = $6, subscription_created = $7,"
        " current_period_end = $8, cancel_at_period_end = $9, trial_end = $10,"
        " grace_until = $11, state_at = $12, updated_at = now() where tenant_id = $1",
        state.tenant_id,
        state.plan,
        state.status,
        state.stripe_customer_id,
        state.stripe_subscription_id,
        state.stripe_price_id,
        state.subscription_created,
        state.current_period_end,
        state.cancel_at_period_end,
        state.trial_end,
        state.grace_until,
        state.state_at,
    )
