"""A webhook with one finished delivery, for tests that need ids of every kind of record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.forms import parse
from app.webhooks import queries, services
from app.webhooks.forms import WebhookForm
from app.webhooks.schemas import EventBody, MemberData, encode_body

# nothing listens on the discard port: a delivery (a redelivery by the matrix) fails at once
NOWHERE = "http://127.0.0.1:9/hook"


def _member_joined(current: Current) -> str:
    """A member.joined body as the outbox writes it."""
    body = EventBody(
        id=uuid.uuid4(),
        type="member.joined",
        created_at=datetime.now(UTC),
        workspace_id=current.tenant_id,
        actor_id=current.user_id,
        object="member",
        object_id=current.user_id,
        data=MemberData(user_id=current.user_id, role=current.role),
        changed=[],
    )
    return encode_body(body).decode()


async def sample_webhook(current: Current) -> tuple[uuid.UUID, uuid.UUID]:
    """(webhook id, delivery id) in the current workspace; the delivery is already failed,
    so no job ever sends it."""
    hook = {"url": NOWHERE, "events": ["member.joined"], "scopes": ["members:read"]}
    form = parse(WebhookForm, hook)
    created = await services.create_hook(current, form)
    delivery = uuid.uuid4()
    async with tenant_transaction(current.tenant_id) as conn:
        await queries.insert_delivery(
            conn,
            delivery,
            current.tenant_id,
            created.hook_id,
            uuid.uuid4(),
            "member.joined",
            f"member:{current.user_id}",
            _member_joined(current),
        )
        await conn.execute(
            "update webhook_deliveries set status = 'failed', finished_at = now() where id = $1",
            delivery,
        )
    return created.hook_id, delivery
