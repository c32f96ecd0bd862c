"""Calls into other domains that privacy actions trigger (security alerts, audit).

Billing, files and every other domain's data are reached through the data map instead.
"""

from __future__ import annotations

import logging
from uuid import UUID

from app.security.alerts import raise_security_alert
from app.security.audit import record_audit

log = logging.getLogger("odex.privacy")


async def security_event(
    tenant_id: UUID, kind: str, actor: UUID | None, details: dict[str, object]
) -> None:
    """Audit entry + live alert to the workspace's admins (app.security.alerts).

    Joins the caller's transaction for the same tenant, so the alert commits with the action.
    """
    await raise_security_alert(tenant_id, kind, actor, details)


async def audit(tenant_id: UUID, actor: UUID | None, action: str, target: str) -> None:
    """An audit-log entry without an alert (e.g. a contact's erasure)."""
    await record_audit(tenant_id, actor, action, target)
