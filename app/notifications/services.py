"""Notification actions: queue service mail through the outbox, add to a user's in-app feed."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from uuid import UUID

from app.core.availability import BACKEND_DOWN
from app.core.db import after_commit, current_scope
from app.core.redis import queue
from app.core.templating import render_html
from app.notifications import attachments as files
from app.notifications.attachments import Attachment
from app.notifications.feed import push_after_commit
from app.notifications.tables import Notification, OutboxMessage

MAIL_JOB = "deliver_outbox"
log = logging.getLogger("odex.mail")


async def queue_mail(
    kind: str,
    to_addr: str,
    subject: str,
    template: str,
    *,
    attachments: list[Attachment] | None = None,
    **ctx: Any,
) -> int:
    """Write a mail into the outbox (inside the caller's transaction); send after commit.

    The body comes from a plain-text template in templates/mail/; `attachments` are kept under
    the data directory until the mail is sent (app/notifications/attachments.py).
    """
    body = render_html(f"mail/{template}", ctx).strip() + "\n"
    scope = current_scope()
    workspace = scope[0] if scope else None  # its admins hear if the mail can't be delivered
    stored = files.store(workspace, attachments) if attachments else []
    rows = await OutboxMessage.insert(
        OutboxMessage(
            kind=kind,
            to_addr=to_addr,
            subject=subject,
            body_text=body,
            workspace_id=workspace,
            attachments=json.dumps(stored),
        )
    ).returning(OutboxMessage.id)
    message_id = int(rows[0]["id"])

    async def enqueue() -> None:
        try:
            await queue().enqueue_job(MAIL_JOB, message_id, _job_id=f"mail:{message_id}")
        except BACKEND_DOWN as exc:  # the mail is committed: the minutely sweep sends it
            log.warning("mail %s queued for the sweep (%s)", message_id, exc)

    after_commit(enqueue)
    return message_id


async def notify(
    tenant_id: UUID, user_id: UUID, kind: str, title: str, body: str = "", link: str | None = None
) -> UUID:
    """Add an in-app notification (inside the caller's tenant transaction)."""
    notification_id = uuid.uuid4()
    await Notification.insert(
        Notification(
            id=notification_id,
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            title=title,
            body=body,
            link=link,
        )
    )
    push_after_commit(tenant_id, user_id, notification_id)  # the bell updates live
    return notification_id


async def unread_count(user_id: UUID) -> int:
    """Unread notifications of a user in the current tenant transaction."""
    return int(
        await Notification.count().where(
            (Notification.user_id == user_id) & Notification.read_at.is_null()
        )
    )
