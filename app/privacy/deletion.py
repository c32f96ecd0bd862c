"""Self-service deletion: schedule with a grace period, cancel, remind, start due purges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec
from piccolo.columns import Column
from piccolo.querystring import QueryString

from app.accounts.queries import Person, workspace_people
from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.accounts.tables import Membership, Tenant, User
from app.accounts.team import change_role
from app.core.db import global_transaction, tenant_transaction, user_transaction
from app.core.errors import Forbidden, FormInvalid
from app.core.mail import queue_mail
from app.core.passwords import verify_password
from app.core.redis import queue
from app.privacy import hooks
from app.privacy.purge import OPEN, PURGE_JOB, PurgeInterrupted, purge_deletion
from app.privacy.queries import due_deletions
from app.privacy.tables import DeletionRequest
from app.settings import get_settings

__all__ = ["PurgeInterrupted", "purge_deletion"]  # re-exported for callers of this module


class Requester(msgspec.Struct, frozen=True):
    """Who asks for a deletion: where the mails about it go, and how they are greeted."""

    email: str
    name: str


class SoleOwned(msgspec.Struct, frozen=True):
    """A workspace the user is the only owner of, and who could take it over."""

    tenant_id: UUID
    name: str
    members: list[Person]  # who could take it over: the other members, by name


async def _check_password(user_id: UUID, password: str) -> Requester:
    async with global_transaction():
        user = (
            await User.select(User.email, User.name, User.password_hash)
            .where(User.id == user_id)
            .first()
        )
    if user is None or not verify_password(str(user["password_hash"]), password):
        raise FormInvalid({"password": "That isn't your password."})
    return Requester(user["email"], user["name"])


async def open_requests(current: Current) -> dict[str, dict[str, object] | None]:
    """The open account and workspace deletion requests that concern the current user."""
    concerns = {
        "workspace": DeletionRequest.workspace_id == current.tenant_id,
        "account": DeletionRequest.subject_user_id == current.user_id,
    }
    found: dict[str, dict[str, object] | None] = {}
    async with global_transaction():
        for scope, concerned in concerns.items():
            found[scope] = (
                await DeletionRequest.select()
                .where(
                    (DeletionRequest.scope == scope)
                    & concerned
                    & DeletionRequest.status.is_in(list(OPEN))
                )
                .first()
            )
    return found


async def sole_owned(user_id: UUID) -> list[SoleOwned]:
    """Workspaces the user is the only owner of, with the members who could take them over.

    Deleting the account would leave each of them without an owner (and still billing), so the
    user chooses for each: hand it to a member, or delete it with the account.
    """
    async with user_transaction(user_id):
        owned = await Membership.select(Membership.tenant_id).where(
            (Membership.user_id == user_id) & (Membership.role == "owner")
        )
    found = []
    for row in owned:
        tenant_id: UUID = row["tenant_id"]
        async with tenant_transaction(tenant_id):
            owners = await Membership.count().where(
                (Membership.tenant_id == tenant_id) & (Membership.role == "owner")
            )
            if owners != 1:
                continue
            tenant = await Tenant.select(Tenant.name).where(Tenant.id == tenant_id).first()
            others = [p for p in await workspace_people() if p.user_id != user_id]
        found.append(SoleOwned(tenant_id, tenant["name"] if tenant else "", others))
    return found


def _check_choices(sole: list[SoleOwned], choices: dict[str, str]) -> dict[UUID, UUID | None]:
    """{workspace: member to hand it to, or None to delete it}; FormInvalid if one is missing."""
    decided: dict[UUID, UUID | None] = {}
    errors: dict[str, str] = {}
    for workspace in sole:
        field = f"workspace_{workspace.tenant_id}"
        choice = choices.get(field, "")
        members = {str(m.user_id): m.user_id for m in workspace.members}
        if choice == "delete":
            decided[workspace.tenant_id] = None
        elif choice in members:
            decided[workspace.tenant_id] = members[choice]
        else:
            errors[field] = "Choose: hand it to a member, or delete it with your account."
    if errors:
        names = ", ".join(w.name for w in sole)
        errors["form"] = (
            f"You are the only owner of {names}. For each, choose whether to hand it to another"
            " member first or to delete it with your account."
        )
        raise FormInvalid(errors)
    return decided


async def _hand_over(user_id: UUID, tenant_id: UUID, member_id: UUID) -> None:
    """Make `member_id` an owner of the workspace (as the user would on the team page)."""
    current = await load_current(user_id, tenant_id)
    if current is None:
        raise FormInvalid({"form": "You no longer belong to that workspace."})
    async with tenant_transaction(tenant_id):
        found = (
            await Membership.select(Membership.id)
            .where((Membership.tenant_id == tenant_id) & (Membership.user_id == member_id))
            .first()
        )
    membership: UUID | None = found["id"] if found else None
    if membership is None:
        raise FormInvalid({f"workspace_{tenant_id}": "That person has left the workspace."})
    await change_role(current, membership, "owner")


async def _delete_with_account(
    user: Requester, user_id: UUID, tenant_id: UUID, due: datetime, account_request: UUID
) -> None:
    """Schedule the workspace's deletion with the account's (cancelling one cancels both)."""
    async with tenant_transaction(tenant_id):
        linked = await (
            DeletionRequest.update({DeletionRequest.with_account: account_request})
            .where(
                (DeletionRequest.workspace_id == tenant_id)
                & (DeletionRequest.scope == "workspace")
                & DeletionRequest.status.is_in(list(OPEN))
            )
            .returning(DeletionRequest.id)
        )
        if linked:
            return
        request_id = uuid.uuid4()
        await DeletionRequest.insert(
            DeletionRequest(
                id=request_id,
                scope="workspace",
                workspace_id=tenant_id,
                subject_user_id=user_id,
                notify_email=user.email,
                due_at=due,
                with_account=account_request,
            )
        )
        await hooks.security_event(
            tenant_id,
            "workspace_deletion_requested",
            user_id,
            {
                "summary": f"with its only owner's account, on {due:%d %b %Y}",
                "request_id": str(request_id),
            },
        )


async def request_deletion(
    current: Current, scope: str, password: str, choices: dict[str, str] | None = None
) -> UUID:
    """Schedule the deletion of the user's account or (owners) the whole workspace.

    A sole owner deleting their account says for each such workspace whether it goes to a
    member (made owner now) or is deleted with the account (scheduled alongside it).
    """
    if scope not in ("account", "workspace"):
        raise FormInvalid({"form": "Choose what to delete."})
    if scope == "workspace" and not current.is_owner:
        raise Forbidden("Only an owner can delete the workspace.")
    user = await _check_password(current.user_id, password)
    decided: dict[UUID, UUID | None] = {}
    sole = await sole_owned(current.user_id) if scope == "account" else []
    if sole:
        decided = _check_choices(sole, choices or {})
    going = [w.name for w in sole if decided[w.tenant_id] is None]
    settings = get_settings()
    due = datetime.now(UTC) + timedelta(days=settings.deletion_grace_days)
    request_id = uuid.uuid4()
    for tenant_id, member_id in decided.items():  # hand-overs first: they can still fail
        if member_id is not None:
            await _hand_over(current.user_id, tenant_id, member_id)
    try:
        async with tenant_transaction(current.tenant_id):
            await DeletionRequest.insert(
                DeletionRequest(
                    id=request_id,
                    scope=scope,
                    workspace_id=current.tenant_id,
                    subject_user_id=current.user_id,
                    notify_email=user.email,
                    due_at=due,
                )
            )
            await queue_mail(
                "deletion",
                user.email,
                f"Your {'workspace' if scope == 'workspace' else 'account'} will be deleted on "
                f"{due:%d %b %Y}",
                "privacy_deletion_requested.txt",
                name=user.name,
                scope=scope,
                workspace=current.tenant_name,
                workspaces=going,
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
    for tenant_id, member_id in decided.items():
        if member_id is None:
            await _delete_with_account(user, current.user_id, tenant_id, due, request_id)
    return request_id


async def cancel_deletion(current: Current, scope: str) -> None:
    """Cancel a scheduled deletion during the grace period (owner / the user themself)."""
    if scope == "workspace" and not current.is_owner:
        raise Forbidden("Only an owner can cancel the workspace's deletion.")
    pending = (await open_requests(current)).get(scope)
    if pending is None or pending["status"] != "scheduled":
        raise FormInvalid({"form": "There is no deletion to cancel (or it has already started)."})
    cancelled: dict[Column | str, object] = {
        DeletionRequest.status: "cancelled",
        DeletionRequest.cancelled_at: QueryString("now()"),
        DeletionRequest.notify_email: None,
    }
    scheduled = DeletionRequest.status == "scheduled"
    async with tenant_transaction(current.tenant_id):
        changed = await (
            DeletionRequest.update(cancelled)
            .where((DeletionRequest.id == pending["id"]) & scheduled)
            .returning(DeletionRequest.id)
        )
        if len(changed) != 1:
            raise FormInvalid({"form": "The deletion has already started."})
        # workspaces the user chose to delete with the account stay
        await DeletionRequest.update(cancelled).where(
            (DeletionRequest.with_account == pending["id"]) & scheduled
        )
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


async def sweep_deletions(ctx: dict[str, object] | None = None) -> int:
    """Cron: mail reminders before the end of the grace period; start purges that are due.

    Also restarts purges a dead worker left in 'purging' (the purge resumes where it stopped).
    """
    settings = get_settings()
    now = datetime.now(UTC)
    async with global_transaction() as conn:
        soon = now + timedelta(days=settings.deletion_reminder_days)
        reminders = await (
            DeletionRequest.update({DeletionRequest.reminder_sent_at: QueryString("now()")})
            .where(
                (DeletionRequest.status == "scheduled")
                & DeletionRequest.reminder_sent_at.is_null()
                & (DeletionRequest.due_at > now)
                & (DeletionRequest.due_at <= soon)
            )
            .returning(
                DeletionRequest.id,
                DeletionRequest.scope,
                DeletionRequest.notify_email,
                DeletionRequest.due_at,
            )
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
        due = await due_deletions(conn, now)  # an account waits for its workspaces
    for request_id in due:
        await queue().enqueue_job(PURGE_JOB, str(request_id), _job_id=f"purge:{request_id}")
    return len(due)
