"""Where the webhooks domain keeps personal data: subscriptions (who added them) and the
delivery log, whose bodies are copies of CRM records sent to the workspace's own addresses."""

from __future__ import annotations

from app.core.datamap import (
    ContactRef,
    Subject,
    in_each_tenant,
    register,
    tenant_table,
)
from app.core.db import tenant_transaction
from app.webhooks.jobs import forget_old_deliveries

OWNER = "webhooks"


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


register(
    tenant_table(
        "webhook_subscriptions",
        OWNER,
        ("user", "workspace"),
        "the workspace's webhook addresses and events, the signing secret (AES-256-GCM), and"
        " which member added each",
        retention="while the workspace exists, until an admin deletes the webhook",
        access="not shown on My data; admins see them on the webhooks page",
        account_deletion="the member's id is cleared from the webhooks they added",
        user_columns=("created_by",),
    )
)
register(
    tenant_table(
        "webhook_deliveries",
        OWNER,
        ("contact", "user", "workspace"),
        "each event sent to a webhook: a copy of the record as it was (a contact's name,"
        " emails and phones; member ids), the answer's status and first kilobyte",
        retention="30 days after it was delivered or given up (pending ones at most a day)",
        access="not shown on My data; admins see the delivery log (never the bodies)",
        erasure="deliveries about the contact, or naming them, are deleted",
        account_deletion="deliveries whose body names the person are deleted",
        text_columns=("payload", "response_excerpt"),
        erase=_erase_deliveries,
        forget_user=_forget_user,
        expire=forget_old_deliveries,
    )
)
