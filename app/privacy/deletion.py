"""Self-service deletion: schedule with a grace period, cancel, remind, start due purges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.errors import Forbidden, FormInvalid
from app.core.redis import queue
from app.notifications.services import queue_mail
from app.privacy import hooks
from app.privacy.purge import OPEN, PURGE_JOB, PurgeInterrupted, purge_deletion
from app.privacy.tables import DeletionRequest
from app.security.passwords import verify_password
from app.settings import get_settings

__all__ = ["PurgeInterrupted", "purge_deletion"]  # re-exported for callers of this module


async def _check_password(user_id: UUID, password: str) -> dict[str, Any]:
    async with global_transaction() as conn:
        user = await conn.fetchrow(
            "select email, name, password_hash from users where id = $1", user_id
        )
    if user is None or not verify_password(str(user["password_hash"]), password):
        raise FormInvalid({"password": "That isn't your password."})
    return dict(user)


async def open_requests(current: Current) -> dict[str, dict[str, Any] | None]:
    """The open account and workspace deletion requests that concern the current user."""
    async with global_transaction():
        workspace = (
            await DeletionRequest.select()
            .where(
                (DeletionRequest.scope == "workspace")
                & (DeletionRequest.workspace_id == current.tenant_id)
                & DeletionRequest.status.is_in(list(OPEN))
            )
            .first()
        )
        account = (
            await DeletionRequest.select()
            .where(
                (DeletionRequest.scope == "account")
                & (DeletionRequest.subject_user_id == current.user_id)
                & DeletionRequest.status.is_in(list(OPEN))
            )
            .first()
        )
    return {"workspace": workspace, "account": account}


async def _sole_owned_workspaces(user_id: UUID) -> list[UUID]:
    """Workspaces where the user is the only owner (they must hand over or delete them)."""
    async with user_transaction(user_id) as conn:
        owned = await conn.fetch(
            "select tenant_id from memberships where user_id = $1 and role = 'owner'", user_id
        )
    sole = []
    for row in owned:
        async with tenant_transaction(row["tenant_id"]) as conn:
            owners = await conn.fetchval("select count(*) from memberships where role = 'owner'")
            members = await conn.fetchval("select count(*) from memberships")
        if owners == 1 and members > 1:
            sole.append(row["tenant_id"])
    return sole


async def request_deletion(current: Current, scope: str, password: str) -> UUID:
    """Schedule the deletion of the user's account or (owners) the whole workspace."""
    if scope not in ("account", "workspace"):
        raise FormInvalid({"form": "Choose what to delete."})
    if scope == "workspace" and not current.is_owner:
        raise Forbidden("Only an owner can delete the workspace.")
    user = await _check_password(current.user_id, password)
    if scope == "account" and await _sole_owned_workspaces(current.user_id):
        raise FormInvalid(
            {
                "form": "You are the only owner of a workspace that has other members. Make "
                "someone else an owner, or delete the workspace, before deleting your account."
            }
        )
    settings = get_settings()
    due = datetime.now(UTC) + timedelta(days=settings.deletion_grace_days)
    request_id = uuid.uuid4()
    try:
        async with tenant_transaction(current.tenant_id):
            await DeletionRequest.insert(
                DeletionRequest(
                    id=request_id,
                    scope=scope,
                    workspace_id=current.tenant_id,
                    subject_user_id=current.user_id,
                    notify_email=user["email"],
                    due_at=due,
                )
            )
            await queue_mail(
                "deletion",
                str(user["email"]),
                f"Your {'workspace' if scope == 'workspace' else 'account'} will be deleted on "
                f"{due:%d %b %Y}",
                "privacy_deletion_requested.txt",
                name=user["name"],
                scope=scope,
                workspace=current.tenant_name,
                due=f"{due:%d %b %Y %H:%M} UTC",
                link=f"{settings.base_url}/settings/export",
            )
            await hooks.security_event(
                current.tenant_id,
                f"{scope}_deletion_requested",
                current.user_id,
                {"summary": f"scheduled for {due:%d %b %Y}", "request_id": str(request_id)},
            )
    except asyncpg.UniqueViolationError as exc:
        raise FormInvalid({"form": f"Deletion of this {scope} is already scheduled."}) from exc
    return request_id


async def cancel_deletion(current: Current, scope: str) -> None:
    """Cancel a scheduled deletion during the grace period (owner / the user themself)."""
    if scope == "workspace" and not current.is_owner:
        raise Forbidden("Only an owner can cancel the workspace's deletion.")
    pending = (await open_requests(current)).get(scope)
    if pending is None or pending["status"] != "scheduled":
        raise FormInvalid({"form": "There is no deletion to cancel (or it has already started)."})
    async with tenant_transaction(current.tenant_id) as conn:
        status = await conn.execute(
            "update deletion_requests set status = 'cancelled', cancelled_at = now(), "
            "notify_email = null where id = $1 and status = 'scheduled'",
            pending["id"],
        )
        if status != "UPDATE 1":
            raise FormInvalid({"form": "The deletion has already started."})
        await queue_mail(
            "deletion",
            current.email,
            f"Deletion of your {scope} was cancelled",
            "privacy_deletion_cancelled.txt",
            name=current.name,
            scope=scope,
            workspace=current.tenant_name,
        )
        await hooks.security_event(
            current.tenant_id, f"{scope}_deletion_cancelled", current.user_id, {}
        )


async def sweep_deletions(ctx: dict[str, Any] | None = None) -> int:
    """Cron: mail reminders before the end of the grace period; start purges that are due.

    Also restarts purges a dead worker left in 'purging' (the purge resumes where it stopped).
    """
    settings = get_settings()
    now = datetime.now(UTC)
    async with global_transaction() as conn:
        reminders = await conn.fetch(
            "update deletion_requests set reminder_sent_at = now() where status = 'scheduled' "
            "and reminder_sent_at is null and due_at > $1 and due_at <= $2 "
            "returning id, scope, notify_email, due_at",
            now,
            now + timedelta(days=settings.deletion_reminder_days),
        )
        for row in reminders:
            if row["notify_email"]:
                await queue_mail(
                    "deletion",
                    row["notify_email"],
                    f"Reminder: your {row['scope']} will be deleted on {row['due_at']:%d %b %Y}",
                    "privacy_deletion_reminder.txt",
                    scope=row["scope"],
                    due=f"{row['due_at']:%d %b %Y %H:%M} UTC",
                    link=f"{settings.base_url}/settings/export",
                )
        due = await conn.fetch(
            "select id from deletion_requests where status in ('scheduled', 'purging') "
            "and due_at <= $1 order by due_at",
            now,
        )
    for row in due:
        await queue().enqueue_job(PURGE_JOB, str(row["id"]), _job_id=f"purge:{row['id']}")
    return len(due)
