"""The security domain, declared once (see app.core.domain)."""

from __future__ import annotations

from app.core.domain import Domain, Subscription
from app.core.events import AccountSecurityEvent, WorkspaceSecurityEvent
from app.security.alerts import alert_user_workspaces, raise_security_alert


async def _workspace_alert(event: WorkspaceSecurityEvent) -> None:
    await raise_security_alert(
        event.tenant_id, event.kind, event.actor_id, event.details, event.session_key
    )


async def _account_alert(event: AccountSecurityEvent) -> None:
    await alert_user_workspaces(event.user_id, event.kind, event.details, event.session_key)


DOMAIN = Domain(
    name="security",
    subscriptions=(
        Subscription(WorkspaceSecurityEvent, _workspace_alert),
        Subscription(AccountSecurityEvent, _account_alert),
    ),
)
