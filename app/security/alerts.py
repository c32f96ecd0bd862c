"""Security alerts: audit-logged, stored, pushed live to the workspace's admins, and mailed.

`raise_security_alert` is the one entry point for every domain (exports, deletions, logins,
team changes). Inside an open transaction for the same tenant it joins it, and the push and
the mail go out only after that transaction commits.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache, partial
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.queries import workspace_admins
from app.accounts.roles import require_admin
from app.accounts.schemas import Current
from app.accounts.services import workspaces_of
from app.accounts.tables import User
from app.core import sessions
from app.core.db import after_commit, self_scoped
from app.core.errors import RecordNotFound
from app.core.mail import queue_mail
from app.core.rows import row_as
from app.core.templating import render_html
from app.realtime.channels import alerts_channel, publish
from app.security import queries
from app.security.audit import in_tenant, record_audit
from app.security.tables import SecurityAlert
from app.settings import get_settings

# kind -> (headline, severity). The headline is completed by the details' "who".
KINDS: dict[str, tuple[str, str]] = {
    "login_new_device": ("signed in from a new device or network", "warning"),
    "failed_logins": ("had several failed sign-in attempts", "warning"),
    "lockout": ("was locked out after repeated failed sign-ins", "danger"),
    "password_changed": ("changed their password", "info"),
    "email_changed": ("changed their login email", "warning"),
    "mfa_enabled": ("turned on two-factor authentication", "info"),
    "mfa_disabled": ("turned off two-factor authentication", "danger"),
    "role_changed": ("changed a member's role", "warning"),
    "member_invited": ("invited a new member", "info"),
    "member_removed": ("removed a member", "warning"),
    "export_requested": ("requested a data export", "warning"),
    "account_deletion_requested": ("requested deletion of their account", "danger"),
    "account_deletion_cancelled": ("cancelled the deletion of their account", "info"),
    "workspace_deletion_requested": ("requested deletion of the workspace", "danger"),
    "workspace_deletion_cancelled": ("cancelled the deletion of the workspace", "info"),
    "sessions_revoked": ("signed sessions out", "info"),
    "webhook_created": ("added a webhook that sends workspace events to an address", "warning"),
    "webhook_disabled": (
        "added a webhook that was turned off: its deliveries kept failing",
        "danger",
    ),
}
PAGE_SIZE = 30
log = logging.getLogger("odex.security")


class AlertView(msgspec.Struct):
    """A security alert as its card shows it (changed in place by an acknowledgement)."""

    id: UUID
    kind: str
    summary: str
    details: dict[str, object]
    session_key: str | None
    created_at: datetime
    severity: str
    acknowledged_at: datetime | None = None
    acknowledged_by: UUID | None = None
    session_revoked_at: datetime | None = None
    subject_user_id: UUID | None = None


async def _person(user_id: UUID | None) -> str:
    if user_id is None:
        return "Someone"
    row = await User.select(User.name, User.email).where(User.id == user_id).first()
    return f"{row['name']} ({row['email']})" if row else "A former member"


def summary_of(kind: str, who: str, details: dict[str, object]) -> str:
    """One line for the toast, the list and the mail subject."""
    headline = KINDS.get(kind, (kind.replace("_", " "), "info"))[0]
    text = f"{who} {headline}"
    extra = details.get("summary")
    return f"{text}: {extra}" if extra else text


async def raise_security_alert(
    tenant_id: UUID,
    kind: str,
    actor: UUID | None,
    details: dict[str, object] | None = None,
    session_key: str | None = None,
) -> UUID:
    """Record a security event for a workspace and tell its admins at once.

    `actor` is the user who did it (or whose account it concerns); `details` is shown to the
    admins and kept in the audit log (put a short human text under "summary"; never
    secrets). `session_key` (sessions.session_key(sid)) lets an admin revoke that session.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown security alert kind {kind!r}")
    details = json.loads(json.dumps(details or {}, default=str))
    alert_id = uuid.uuid4()
    async with in_tenant(tenant_id) as conn:
        who = await _person(actor)
        if details.get("member_id"):  # name the member a team change concerns
            details["member"] = await _person(UUID(str(details.pop("member_id"))))
        summary = summary_of(kind, who, details)
        stored = await queries.insert_alert(
            conn,
            alert_id,
            tenant_id,
            kind,
            actor,
            _subject(details, actor),
            summary,
            json.dumps(details),
            session_key,
        )
        alert = _row(stored)
        await record_audit(tenant_id, actor, f"security.{kind}", summary, details, actor_label=who)
        admins = await workspace_admins()
        settings = get_settings()
        for admin in admins:
            await queue_mail(
                "security_alert",
                admin.email,
                f"Security alert: {summary}"[:200],
                "security_alert.txt",
                name=admin.name,
                summary=summary,
                when=alert.created_at.strftime("%d %b %Y %H:%M UTC"),
                details=_detail_lines(details),
                link=f"{settings.base_url}/settings/alerts",
            )
        html = render_push(tenant_id, alert, toast=True)

        after_commit(lambda: _publish(tenant_id, html))
    return alert_id


async def _publish(tenant_id: UUID, html: str) -> None:
    """Push to the admins' sockets (with the header's open-alerts count); the alert is stored
    and mailed even if this fails."""
    try:
        badge = render_badge(await _open_count(tenant_id), oob=True)
        await publish(alerts_channel(tenant_id), html + badge)
    except Exception:  # a push is best effort: the page and the mail still carry the alert
        log.exception("could not push security alert to tenant %s", tenant_id)


def _subject(details: dict[str, object], actor: UUID | None) -> UUID | None:
    raw = details.get("user_id")
    try:
        return UUID(str(raw)) if raw else actor
    except ValueError:
        return actor


def _detail_lines(details: dict[str, object]) -> list[str]:
    return [f"{k.replace('_', ' ')}: {v}" for k, v in details.items() if k != "summary"]


def render_push(tenant_id: UUID, alert: AlertView, *, toast: bool) -> str:
    """The websocket message: the alert card (new or updated) and optionally a toast."""
    return render_html(
        "security/alert_push.html", {"alert": alert, "toast": toast, "tenant_id": tenant_id}
    )


_require_admin = partial(require_admin, why="Only admins and owners can see security alerts.")


def _row(r: Mapping[str, object]) -> AlertView:
    details = r.get("details") or {}
    severity = KINDS.get(str(r["kind"]), ("", "info"))[1]
    parsed = json.loads(details) if isinstance(details, str) else details
    return row_as(AlertView, {**r, "details": parsed, "severity": severity})


async def list_alerts(
    current: Current, page: int = 1, open_only: bool = False
) -> tuple[list[AlertView], bool]:
    """Newest first; and whether there is another page."""
    _require_admin(current)
    offset = (max(page, 1) - 1) * PAGE_SIZE
    query = SecurityAlert.select()
    if open_only:
        query = query.where(SecurityAlert.acknowledged_at.is_null())
    async with in_tenant(current.tenant_id):
        rows = await (
            query.order_by(SecurityAlert.created_at, ascending=False)
            .limit(PAGE_SIZE + 1)
            .offset(offset)
        )
    return [_row(r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


async def _load(conn: asyncpg.Connection, alert_id: UUID) -> AlertView:
    row = await queries.lock_alert(conn, alert_id)
    if row is None:
        raise RecordNotFound("alert")
    return _row(row)


async def acknowledge(current: Current, alert_id: UUID) -> AlertView:
    """Mark an alert as seen by this admin (audit-logged; other admins' pages update)."""
    _require_admin(current)
    async with in_tenant(current.tenant_id) as conn:
        alert = await _load(conn, alert_id)
        if alert.acknowledged_at is None:
            alert.acknowledged_at = datetime.now(UTC)
            alert.acknowledged_by = current.user_id
            await _save_handling(current, alert, "security.alert_acknowledged", {})
    return alert


async def revoke_alert_session(current: Current, alert_id: UUID) -> AlertView:
    """End the session a login alert names (one click for the admin); also acknowledges."""
    _require_admin(current)
    async with in_tenant(current.tenant_id) as conn:
        alert = await _load(conn, alert_id)
        key, user_id = alert.session_key, alert.subject_user_id
        if not key or user_id is None:
            raise RecordNotFound("session")
        if alert.session_revoked_at is None:
            session = await sessions.session_by_key(key)
            # only a session signed in to this workspace: an admin here can't reach elsewhere
            ended = (
                session is not None
                and session.tenant_id == str(current.tenant_id)
                and await sessions.revoke_key(str(user_id), key)
            )
            now = datetime.now(UTC)
            alert.session_revoked_at = now
            alert.acknowledged_at = alert.acknowledged_at or now
            alert.acknowledged_by = alert.acknowledged_by or current.user_id
            details = {"user_id": str(user_id), "was_active": ended}
            await _save_handling(current, alert, "security.session_revoked", details)
    return alert


async def _save_handling(
    current: Current, alert: AlertView, action: str, details: dict[str, object]
) -> None:
    """Store what an admin did to a (locked) alert as its view now says, audit it as
    `action` by that admin, and update the other admins' open pages."""
    await SecurityAlert.update(
        {
            SecurityAlert.acknowledged_at: alert.acknowledged_at,
            SecurityAlert.acknowledged_by: alert.acknowledged_by,
            SecurityAlert.session_revoked_at: alert.session_revoked_at,
        }
    ).where(SecurityAlert.id == alert.id)
    await record_audit(
        current.tenant_id,
        current.user_id,
        action,
        alert.summary,
        {"alert_id": str(alert.id), **details},
        actor_label=f"{current.name} ({current.email})",
    )
    _push_update(current.tenant_id, alert)


def _push_update(tenant_id: UUID, alert: AlertView) -> None:
    html = render_push(tenant_id, alert, toast=False)
    after_commit(lambda: _publish(tenant_id, html))


async def _open_count(tenant_id: UUID) -> int:
    async with in_tenant(tenant_id) as conn:
        return await queries.open_alert_count(conn)


async def open_alert_count(current: Current) -> int:
    """How many alerts no admin has acknowledged yet (0 for members, who don't see alerts):
    one self-scoped statement, no transaction of its own (the badge of every admin's page)."""
    if not current.is_admin:
        return 0
    count = partial(
        queries.open_alert_count_scoped, tenant_id=current.tenant_id, user_id=current.user_id
    )
    return await self_scoped(current.tenant_id, current.user_id, count)


def render_badge(count: int, *, oob: bool = False) -> str:
    """The header's open-alerts shield (one template for the page and the live push)."""
    return _badge(count, oob)


@lru_cache(maxsize=256)
def _badge(count: int, oob: bool) -> str:
    """The shield for a count, rendered once: it reads nothing else (no names, no formats),
    and every admin's page asks for it."""
    return render_html("security/_alerts_badge.html", {"count": count, "oob": oob})


async def alert_user_workspaces(
    user_id: UUID,
    kind: str,
    details: dict[str, object] | None = None,
    session_key: str | None = None,
) -> None:
    """Raise an account-level alert (password, email, MFA) in every workspace of the user."""
    for workspace in await workspaces_of(user_id):
        await raise_security_alert(
            UUID(str(workspace["tenant_id"])), kind, user_id, details, session_key
        )
