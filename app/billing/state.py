"""A tenant's billing state: the account row, the plan in force, grace periods."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.billing.plans import Plan, plans
from app.billing.tables import BillingAccount
from app.core.rows import row_as

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


A = BillingAccount
COLUMNS = (
    A.tenant_id,
    A.plan,
    A.status,
    A.stripe_customer_id,
    A.stripe_subscription_id,
    A.stripe_price_id,
    A.subscription_created,
    A.current_period_end,
    A.cancel_at_period_end,
    A.trial_end,
    A.grace_until,
    A.state_at,
)
NOW = QueryString("now()")  # the transaction's time, as the database's defaults use


async def read_account(conn: asyncpg.Connection, tenant_id: UUID) -> AccountState:
    """The tenant's billing state (inside its tenant transaction, on `conn`)."""
    row = await A.select(*COLUMNS).where(A.tenant_id == tenant_id).first()
    return AccountState(tenant_id=tenant_id) if row is None else row_as(AccountState, row)


async def lock_account(conn: asyncpg.Connection, tenant_id: UUID) -> AccountState:
    """Create the row if needed and lock it: billing changes of one tenant run one at a time."""
    await A.insert(A(tenant_id=tenant_id)).on_conflict(target=A.tenant_id, action="DO NOTHING")
    row = await A.select(*COLUMNS).where(A.tenant_id == tenant_id).lock_rows("UPDATE").first()
    return AccountState(tenant_id=tenant_id) if row is None else row_as(AccountState, row)


async def save_account(conn: asyncpg.Connection, state: AccountState) -> None:
    await A.update(
        {
            A.plan: state.plan,
            A.status: state.status,
            A.stripe_customer_id: state.stripe_customer_id,
            A.stripe_subscription_id: state.stripe_subscription_id,
            A.stripe_price_id: state.stripe_price_id,
            A.subscription_created: state.subscription_created,
            A.current_period_end: state.current_period_end,
            A.cancel_at_period_end: state.cancel_at_period_end,
            A.trial_end: state.trial_end,
            A.grace_until: state.grace_until,
            A.state_at: state.state_at,
            A.updated_at: NOW,
        }
    ).where(A.tenant_id == state.tenant_id)
