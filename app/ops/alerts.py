"""Operator alerts: what the platform's operators must act on (a backup failed, a copy no longer
verifies, backup targets share one disk). Stored, logged, and mailed to staff and OPERATOR_EMAIL."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from app.accounts import roles
from app.accounts.schemas import Current
from app.accounts.tables import User
from app.core.db import global_transaction
from app.core.errors import RecordNotFound
from app.core.mail import queue_mail
from app.core.rows import rows_as
from app.ops import queries
from app.ops.tables import OperatorAlert
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
        unacknowledged = (OperatorAlert.kind == kind) & OperatorAlert.acknowledged_at.is_null()
        if once and await OperatorAlert.exists().where(unacknowledged):
            return None
        alert_id = uuid.uuid4()
        await queries.insert_operator_alert(conn, alert_id, kind, summary[:500], details[:4000])
        staff_rows = await User.select(User.email).where(User.is_staff.eq(True))
        staff = [str(r["email"]) for r in staff_rows]
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


require_staff = partial(
    roles.require_staff, why="Only Odex staff (the platform's operators) can see operator alerts."
)


class OperatorAlertRow(msgspec.Struct, frozen=True):
    """An operator alert as the staff page lists it."""

    id: UUID
    kind: str
    summary: str
    details: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None


async def recent_alerts(current: Current, limit: int = 100) -> list[OperatorAlertRow]:
    """The newest operator alerts (the staff page)."""
    require_staff(current)
    async with global_transaction():
        rows = await (
            OperatorAlert.select().order_by(OperatorAlert.created_at, ascending=False).limit(limit)
        )
    return rows_as(OperatorAlertRow, rows)


async def acknowledge(current: Current, alert_id: UUID) -> bool:
    """Mark an alert seen (staff); False when it already was. RecordNotFound if none such."""
    require_staff(current)
    async with global_transaction() as conn:
        found, acknowledged_at = await queries.lock_operator_alert(conn, alert_id)
        if not found:
            raise RecordNotFound()
        if acknowledged_at is not None:
            return False
        await OperatorAlert.update(
            {
                OperatorAlert.acknowledged_at: QueryString("now()"),
                OperatorAlert.acknowledged_by: current.user_id,
            }
        ).where(OperatorAlert.id == alert_id)
    return True
