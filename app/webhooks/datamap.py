"""The code of the webhooks domain's data map (app/webhooks/datamap.toml): subscriptions
(who added them) and the delivery log, whose bodies are copies of CRM records sent to the
workspace's own addresses."""

from __future__ import annotations

from app.core.datamap import ContactRef, Subject, Treatments, in_each_tenant
from app.core.db import tenant_transaction
from app.webhooks.jobs import forget_old_deliveries


async def _erase_deliveries(contact: ContactRef) -> int:
    """Deliveries about the contact (their record's events, or bodies naming them) go."""
    async with tenant_transaction(contact.tenant_id) as conn:
        status = await conn.execute(
            "delete from webhook_deliveries where tenant_id = $1"
            " and (order_key = $2 or strpos(payload, $3) > 0)",
            contact.tenant_id,
            f"contact:{contact.contact_id}",
            str(contact.contact_id),
        )
    return int(status.split()[-1])


async def _forget_user(subject: Subject) -> int:
    """Deliveries whose body names the person (a member's event, a record they own)."""
    if subject.user_id is None:
        return 0
    return await in_each_tenant(
        subject.tenant_ids,
        "delete from webhook_deliveries where strpos(payload, $1) > 0",
        str(subject.user_id),
    )


TREATMENTS = Treatments(
    erase=[_erase_deliveries], forget_user=[_forget_user], expire=[forget_old_deliveries]
)
