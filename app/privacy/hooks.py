"""Calls into other domains that privacy actions trigger (security alerts, billing, audit)."""

from __future__ import annotations

import importlib
import logging
from typing import Any
from uuid import UUID

log = logging.getLogger("odex.privacy")


async def security_event(
    tenant_id: UUID, kind: str, actor: UUID | None, details: dict[str, Any]
) -> None:
    """Audit entry + live alert to the workspace's admins (app.security.alerts).

    Joins the caller's transaction for the same tenant, so the alert commits with the action.
    """
    from app.security.alerts import raise_security_alert

    await raise_security_alert(tenant_id, kind, actor, details)


async def audit(tenant_id: UUID, actor: UUID | None, action: str, target: str) -> None:
    """An audit-log entry without an alert (e.g. a contact's erasure)."""
    from app.security.audit import record_audit

    await record_audit(tenant_id, actor, action, target)


async def cancel_billing(tenant_id: UUID) -> bool:
    """Cancel the Stripe subscription and delete the customer, through the billing module.

    Returns False when billing has no such function (nothing to cancel in this build).
    """
    try:
        services = importlib.import_module("app.billing.services")
    except ModuleNotFoundError:
        return False
    cancel = getattr(services, "cancel_and_delete_customer", None)
    if cancel is None:
        log.warning("app.billing.services.cancel_and_delete_customer is missing")
        return False
    await cancel(tenant_id)
    return True
