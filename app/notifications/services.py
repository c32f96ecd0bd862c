"""Notification actions: add to a user's in-app feed (service mail: app.core.mail)."""

from __future__ import annotations

import uuid
from uuid import UUID

from app.notifications.feed import push_after_commit
from app.notifications.tables import Notification


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
