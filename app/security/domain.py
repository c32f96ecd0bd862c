"""The security domain, declared once (see app.core.domain)."""

from __future__ import annotations

from arq import cron

from app.core.domain import Domain, NavEntry, Slot, Subscription
from app.core.events import AccountSecurityEvent, WorkspaceSecurityEvent
from app.security import mfa_routes, routes
from app.security.alerts import alert_user_workspaces, raise_security_alert
from app.security.rotation import rotate_field_keys


async def _workspace_alert(event: WorkspaceSecurityEvent) -> None:
    await raise_security_alert(
        event.tenant_id, event.kind, event.actor_id, event.details, event.session_key
    )


async def _account_alert(event: AccountSecurityEvent) -> None:
    await alert_user_workspaces(event.user_id, event.kind, event.details, event.session_key)


DOMAIN = Domain(
    name="security",
    routes=(*routes.ROUTES, *mfa_routes.ROUTES),
    jobs=(rotate_field_keys,),
    crons=(cron(rotate_field_keys, hour={3}, minute={17}, timeout=3600),),  # no-op once rotated
    slots=(
        Slot("app_top", "security/_live_slot.html", kept_by=("is_admin",)),
        Slot("header_actions", "security/_alerts_slot.html", order=10, kept_by=("is_admin",)),
    ),
    subscriptions=(
        Subscription(WorkspaceSecurityEvent, _workspace_alert),
        Subscription(AccountSecurityEvent, _account_alert),
    ),
    nav=(
        NavEntry(
            "workspace",
            "/settings/alerts",
            "shield-exclamation",
            "Security alerts",
            order=40,
            audience="admin",
        ),
        NavEntry(
            "workspace", "/settings/audit", "journal-text", "Audit log", order=50, audience="admin"
        ),
        NavEntry("account", "/settings/security", "shield-lock", "Security & MFA", order=20),
        NavEntry("account", "/settings/sessions", "laptop", "Sessions", order=30),
    ),
)
