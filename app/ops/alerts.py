"""Operator alerts: what the platform's operators must act on (a backup failed, a copy no longer
verifies, backup targets share one disk). Stored, logged, and mailed to staff and OPERATOR_EMAIL."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from uuid import UUID

from app.core.db import global_transaction
from app.notifications.services import queue_mail
from app.settings import get_settings

log = logging.getLogger("odex.ops")


async def raise_operator_alert(
    kind: str, summary: str, details: str = "", *, once: bool = False
) -> UUID | None:
    """Record an alert and mail it to every staff user and OPERATOR_EMAIL.

    With `once`, nothing happens while an alert of the same kind is still unacknowledged (for
    conditions re-checked at every start).
    """
    async with global_transaction() as conn:
        if once and await conn.fetchval(
            "select 1 from operator_alerts where kind = $1 and acknowledged_at is null", kind
        ):
            return None
        alert_id = uuid.uuid4()
        await conn.execute(
            "insert into operator_alerts (id, kind, summary, details) values ($1, $2, $3, $4)",
            alert_id,
            kind,
            summary[:500],
            details[:4000],
        )
        staff = [r["email"] for r in await conn.fetch("select email from users where is_staff")]
        extra = get_settings().operator_email
        for address in sorted({*staff, *([extra] if extra else [])}):
            await queue_mail(
                "operator_alert",
                address,
                f"Odex operations: {summary}"[:200],
                "operator_alert.txt",
                summary=summary,
                details=details,
                link=f"{get_settings().base_url}/staff/operator-alerts",
            )
    log.error("operator alert (%s): %s %s", kind, summary, details)
    return alert_id


async def recent_alerts(limit: int = 100) -> list[dict[str, Any]]:
    """The newest operator alerts (the staff page)."""
    async with global_transaction() as conn:
        rows = await conn.fetch(
            "select * from operator_alerts order by created_at desc limit $1", limit
        )
    return [dict(r) for r in rows]


async def acknowledge(alert_id: UUID, user_id: UUID) -> bool:
    async with global_transaction() as conn:
        status = await conn.execute(
            "update operator_alerts set acknowledged_at = now(), acknowledged_by = $2"
            " where id = $1 and acknowledged_at is null",
            alert_id,
            user_id,
        )
    return status == "UPDATE 1"
