"""Billing notices: email and in-app notification to a workspace's owners and admins."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg
from redis.exceptions import RedisError

from app.accounts.queries import workspace_admins
from app.core.db import after_commit
from app.core.mail import queue_mail
from app.core.templating import render_html
from app.notifications.services import notify
from app.realtime.channels import feed_channel, publish
from app.settings import get_settings

BILLING_PATH = "/settings/billing"
log = logging.getLogger("odex.billing")


async def send_billing_notice(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    kind: str,
    title: str,
    body: str,
    link_label: str = "Open billing",
) -> int:
    """Mail and notify every owner and admin (inside the tenant transaction that made the
    change, so a notice exists exactly when the change committed); returns the recipients."""
    settings = get_settings()
    rows = await workspace_admins()
    link = f"{settings.base_url}{BILLING_PATH}"
    for row in rows:
        await notify(tenant_id, row.id, f"billing.{kind}", title, body, BILLING_PATH)
        await queue_mail(
            f"billing.{kind}",
            row.email,
            f"{title} · {row.workspace}",
            "billing_notice.txt",
            name=row.name,
            body=body,
            link=link,
            link_label=link_label,
            company=row.workspace,
        )
    toast = render_html("billing/_notice_toast.html", {"title": title, "kind": kind})
    user_ids = [row.id for row in rows]

    async def push() -> None:
        for user_id in user_ids:
            try:
                await publish(feed_channel(user_id), toast)
            except (
                OSError,
                RedisError,
            ) as exc:  # live toasts are a courtesy; mail and feed are committed
                log.warning("billing notice not pushed live: %s", exc)

    after_commit(push)
    return len(rows)
