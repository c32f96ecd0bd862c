"""When a failed payment's grace period runs out: tell owners and admins once, as it happens."""

from __future__ import annotations

from uuid import UUID

from arq import cron

from app.billing.notices import send_billing_notice
from app.billing.queries import claim_grace_notice
from app.billing.state import read_account
from app.core.crypto import all_tenant_ids
from app.core.db import tenant_transaction


async def announce_grace_end(tenant_id: UUID) -> bool:
    """Send the "now on Free" notice if this tenant's grace ran out and it wasn't announced."""
    async with tenant_transaction(tenant_id) as conn:
        account = await read_account(conn, tenant_id)
        if not account.grace_expired() or account.grace_until is None:
            return False
        if not await claim_grace_notice(conn):  # already announced (this lapse)
            return False
        await send_billing_notice(
            conn,
            tenant_id,
            "grace_ended",
            "Your workspace is now on the Free plan",
            "The grace period after the failed payment has ended, so the Free plan's limits"
            " apply from now on. Nothing was deleted: update your card to get your plan back.",
            link_label="Update your card",
        )
        return True


async def announce_grace_ends(ctx: dict[str, object]) -> int:
    """Hourly: visit every tenant (each in its own transaction) and announce lapsed graces."""
    sent = 0
    for tenant_id in await all_tenant_ids():
        sent += await announce_grace_end(tenant_id)
    return sent


GRACE_CRON = cron(announce_grace_ends, minute={7}, second={0})
