"""Plan limits, enforced in services: seats on invite, records on create and import."""

from __future__ import annotations

from uuid import UUID

from markupsafe import Markup, escape

from app.billing import queries
from app.billing.plans import Plan
from app.billing.queries import Usage
from app.billing.state import read_account
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, UploadRefused

BILLING_PATH = "/settings/billing"
RECORD_KINDS = {"contacts": "contacts", "companies": "companies"}


async def usage_and_plan(tenant_id: UUID) -> tuple[Usage, Plan]:
    """The tenant's usage and the plan whose limits apply now."""
    # joins the caller's transaction for this tenant, so a check sees its own writes
    async with tenant_transaction(tenant_id) as conn:
        account = await read_account(conn, tenant_id)
        return await queries.usage(conn), account.effective_plan()


def _upgrade_message(text: str) -> Markup:
    return Markup('{} <a href="{}">Upgrade your plan</a> to go further.').format(
        escape(text), BILLING_PATH
    )


async def check_seat_limit(tenant_id: UUID, adding: int = 1) -> None:
    """Refuse an invitation that would take the team past the plan's seats (members plus open
    invitations)."""
    usage, plan = await usage_and_plan(tenant_id)
    if usage.seats + adding > plan.seat_limit:
        raise FormInvalid(
            {
                "email": _upgrade_message(
                    f"Your {plan.name} plan includes {plan.seat_limit} seats, and "
                    f"{usage.members} members plus {usage.pending_invites} open invitations "
                    "already use them."
                )
            }
        )


async def check_record_limit(tenant_id: UUID, kind: str, adding: int = 1) -> None:
    """Refuse creating or importing `adding` contacts/companies past the plan's record limit."""
    usage, plan = await usage_and_plan(tenant_id)
    if usage.records + adding > plan.record_limit:
        what = RECORD_KINDS.get(kind, "records")
        left = max(plan.record_limit - usage.records, 0)
        detail = (
            f"Your {plan.name} plan holds {plan.record_limit:,} contacts and companies, and "
            f"{usage.records:,} are used"
        )
        detail += f", so {adding:,} more {what} won't fit ({left:,} left)." if adding > 1 else "."
        raise FormInvalid({"form": _upgrade_message(detail)})


def _size(count: int) -> str:
    return f"{count / 1024**3:g} GB" if count >= 1024**3 else f"{count / 1024**2:.3g} MB"


async def attachment_room(tenant_id: UUID, stored_bytes: int) -> tuple[int, str]:
    """The largest file the plan lets the workspace attach now, given the `stored_bytes` its
    files already use, and the message shown when an upload is larger. Refuses (413) when the
    storage is full."""
    _, plan = await usage_and_plan(tenant_id)
    left = max(plan.storage_limit_bytes - stored_bytes, 0)
    if left < plan.attachment_max_bytes:
        message = (
            f"Your {plan.name} plan stores {_size(plan.storage_limit_bytes)} of files, and"
            f" {_size(stored_bytes)} are used ({_size(left)} left)."
        )
    else:
        message = f"Your {plan.name} plan takes files up to {_size(plan.attachment_max_bytes)}."
    if left <= 0:
        raise UploadRefused({"file": _upgrade_message(message)})
    return min(left, plan.attachment_max_bytes), _upgrade_message(message)
