"""Operator alerts: what the platform's operators must act on (a backup failed, a copy no longer
verifies, backup targets share one disk). Stored, logged, and mailed to staff and OPERATOR_EMAIL."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from uuid import UUID

from app.accounts.schemas import Current
from app.core.db import global_transaction
from app.core.errors import Forbidden, RecordNotFound
from app.core.mail import queue_mail
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


def require_staff(current: Current) -> None:
    if not current.is_staff:
        raise Forbidden("Only Odex staff (the platform's operators) can see operator alerts.")


async def recent_alerts(current: Current, limit: int = 100) -> list[dict[str, Any]]:
    """The newest operator alerts (the staff page)."""
    require_staff(current)
    async with global_transaction() as conn:
        rows = await conn.fetch(
            "select * from operator_alerts order by created_at desc limit $1", limit
        )
    return [dict(r) for r in rows]


async def acknowledge(current: Current, alert_id: UUID) -> bool:
    """Mark an alert seen (staff); False when it already was. RecordNotFound if none such."""
    require_staff(current)
    async with global_transaction() as conn:
        seen = await conn.fetchrow(
            "select acknowledged_at from operator_alerts where id = $1 for update", alert_id
        )
        if seen is None:
            raise RecordNotFound()
        if seen["acknowledged_at"] is not None:
            return False
        await conn.execute(
            "update operator_alerts set acknowledged_at = now(), acknowledged_by = $2"
            " where id = $1",
            alert_id,
            current.user_id,
        )
    return True
