"""Team actions: invite by email with a role, accept, revoke, change roles, remove members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import asyncpg
import msgspec

from app.accounts import queries
from app.accounts.roles import require_admin
from app.accounts.schemas import (
    ROLE_RANK,
    ROLES,
    Current,
    InvitationPreview,
    Member,
    PendingInvitation,
)
from app.accounts.tables import Invitation, Membership, Tenant, User
from app.accounts.tokens import issue_token, peek_token, redeem_token
from app.accounts.users import user_by_email
from app.core.access_events import announce_access_change
from app.core.db import after_commit, global_transaction, tenant_transaction
from app.core.errors import Forbidden, FormInvalid, RecordNotFound
from app.core.events import MemberJoined, SeatsRequested, WorkspaceSecurityEvent, emit
from app.core.mail import queue_mail
from app.core.passwords import hash_password, password_problem
from app.core.rows import row_as
from app.settings import get_settings

LAST_OWNER = "A workspace needs at least one owner. Make someone else an owner first."


_require_admin = partial(require_admin, why="Only admins and owners can manage the team.")


def _may_assign(current: Current, role: str) -> None:
    if role not in ROLES:
        raise FormInvalid({"role": "Choose owner, admin or member."})
    if ROLE_RANK[role] > ROLE_RANK[current.role]:
        raise FormInvalid({"role": "You can't give a role higher than your own."})


async def list_members(current: Current) -> list[Member]:
    async with tenant_transaction(current.tenant_id, current.user_id):
        return await queries.team_members(current.tenant_id)


async def list_invitations(current: Current) -> list[PendingInvitation]:
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = (
            await Invitation.select()
            .where(Invitation.accepted_at.is_null() & Invitation.revoked_at.is_null())
            .order_by(Invitation.created_at, ascending=False)
        )
    return [
        PendingInvitation(r["id"], r["email"], r["role"], r["expires_at"], r["created_at"])
        for r in rows
    ]


async def invite(current: Current, email: str, role: str) -> UUID:
    """Invite an address into the workspace; mails a link that expires."""
    _require_admin(current)
    if not current.verified:
        raise FormInvalid({"email": "Verify your own email address before inviting others."})
    _may_assign(current, role)
    await emit(SeatsRequested(current.tenant_id))  # billing refuses past the plan's seats
    settings = get_settings()
    invitation_id = uuid.uuid4()
    ttl = timedelta(days=settings.invite_ttl_days)
    try:
        async with tenant_transaction(current.tenant_id, current.user_id) as conn:
            if await queries.is_member_email(conn, current.tenant_id, email):
                raise FormInvalid({"email": "This person is already in your team."})
            await Invitation.insert(
                Invitation(
                    id=invitation_id,
                    tenant_id=current.tenant_id,
                    email=email,
                    role=role,
                    invited_by=current.user_id,
                    expires_at=datetime.now(UTC) + ttl,
                )
            )
            token = await issue_token(
                "invite", email, ttl, tenant_id=current.tenant_id, ref_id=invitation_id
            )
            await queue_mail(
                "invite",
                email,
                f"{current.name} invited you to {current.tenant_name} on Odex CRM",
                "invite.txt",
                inviter=current.name,
                company=current.tenant_name,
                role=role,
                link=f"{settings.base_url}/invite/accept?token={token}",
                days=settings.invite_ttl_days,
            )
            alert: dict[str, object] = {"email": email, "role": role}
            await emit(
                WorkspaceSecurityEvent(current.tenant_id, "member_invited", current.user_id, alert)
            )
    except asyncpg.UniqueViolationError as exc:
        raise FormInvalid(
            {"email": "There is already an open invitation for this address."}
        ) from exc
    return invitation_id


async def revoke_invitation(current: Current, invitation_id: UUID) -> None:
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        done = (
            await Invitation.update({Invitation.revoked_at: datetime.now(UTC)})
            .where((Invitation.id == invitation_id) & Invitation.accepted_at.is_null())
            .returning(Invitation.id)
        )
    if not done:
        raise RecordNotFound("invitation")


async def preview_invitation(token: str) -> InvitationPreview:
    async with global_transaction():
        row = await peek_token(token, "invite")
        has_account = await user_by_email(row.email) is not None
    tenant_id = UUID(str(row.target_tenant_id))
    async with tenant_transaction(tenant_id):
        invitation = await Invitation.select().where(Invitation.id == row.ref_id).first()
        tenant = await Tenant.select(Tenant.name).first()
    if invitation is None or invitation["revoked_at"] is not None or tenant is None:
        raise FormInvalid({"token": "This invitation was withdrawn. Ask for a new one."})
    return InvitationPreview(row.email, invitation["role"], tenant["name"], has_account)


async def accept_invitation(
    token: str, signed_in_user: UUID | None, name: str = "", password: str = ""
) -> tuple[UUID, UUID]:
    """Join the inviting workspace; creates the account if the address has none.

    Returns (user_id, tenant_id). An account that exists must be signed in as that address.
    """
    async with global_transaction():
        row = await peek_token(token, "invite")
        existing = await user_by_email(row.email)
    tenant_id = UUID(str(row.target_tenant_id))
    if existing is not None:
        user_id = existing.id
        if signed_in_user != user_id:
            raise FormInvalid({"form": f"Log in as {row.email} to accept this invitation."})
    else:  # a new account: name and password (read by InviteAcceptForm) are needed now
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = "Enter your name."
        problem = password_problem(password, email=row.email, name=name)
        if problem:
            errors["password"] = problem
        if errors:
            raise FormInvalid(errors)
        user_id = uuid.uuid4()
    try:
        async with tenant_transaction(tenant_id, user_id):
            row = await redeem_token(token, "invite")
            invitation = await Invitation.select().where(Invitation.id == row.ref_id).first()
            if invitation is None or invitation["revoked_at"] is not None:
                raise FormInvalid({"token": "This invitation was withdrawn. Ask for a new one."})
            if existing is None:
                await User.insert(
                    User(
                        id=user_id,
                        email=row.email,
                        name=name,
                        password_hash=hash_password(password),
                        email_verified_at=datetime.now(UTC),  # the mailed link proves it
                    )
                )
            await Membership.insert(
                Membership(
                    id=uuid.uuid4(), tenant_id=tenant_id, user_id=user_id, role=invitation["role"]
                )
            )
            await Invitation.update({Invitation.accepted_at: datetime.now(UTC)}).where(
                Invitation.id == invitation["id"]
            )
            await emit(MemberJoined(tenant_id, user_id, str(invitation["role"])))
    except asyncpg.UniqueViolationError as exc:
        raise FormInvalid({"form": "You are already a member of this workspace."}) from exc
    return user_id, tenant_id


async def _owners_left(tenant_id: UUID, exclude: UUID) -> int:
    """Owners of this workspace other than `exclude` (never the user's rows elsewhere)."""
    return await Membership.count().where(
        (Membership.tenant_id == tenant_id)
        & (Membership.role == "owner")
        & (Membership.id != exclude)
    )


class LockedMember(msgspec.Struct, frozen=True):
    """A membership locked for a role change or a removal."""

    id: UUID
    user_id: UUID
    role: str


async def _lock_member(tenant_id: UUID, membership_id: UUID) -> LockedMember:
    """Lock this workspace's owners (two demotions at once can't leave it ownerless) and the
    membership acted on; a membership of another workspace is not found."""
    in_workspace = Membership.tenant_id == tenant_id
    await (
        Membership.select(Membership.id)
        .where(in_workspace, Membership.role == "owner")
        .lock_rows("UPDATE")
    )
    member = await (
        Membership.select(Membership.id, Membership.user_id, Membership.role)
        .where(in_workspace, Membership.id == membership_id)
        .lock_rows("UPDATE")
        .first()
    )
    if member is None:
        raise RecordNotFound("member")
    return row_as(LockedMember, member)


async def change_role(current: Current, membership_id: UUID, role: str) -> None:
    _require_admin(current)
    _may_assign(current, role)
    async with tenant_transaction(current.tenant_id, current.user_id):
        member = await _lock_member(current.tenant_id, membership_id)
        if member.role == "owner" and not current.is_owner:
            raise Forbidden("Only an owner can change another owner's role.")
        if (
            member.role == "owner"
            and role != "owner"
            and not await _owners_left(current.tenant_id, membership_id)
        ):
            raise FormInvalid({"role": LAST_OWNER})
        changed_rows = (
            await Membership.update({Membership.role: role})
            .where((Membership.id == membership_id) & (Membership.tenant_id == current.tenant_id))
            .returning(Membership.id)
        )
        if len(changed_rows) != 1:  # hidden by row-level security: not this workspace's
            raise RecordNotFound("member")
        change = {"member_id": member.user_id, "from": member.role, "to": role}
        await emit(
            WorkspaceSecurityEvent(current.tenant_id, "role_changed", current.user_id, change)
        )
        changed = member.user_id
        after_commit(lambda: announce_access_change(changed))  # their sockets narrow now


async def remove_member(current: Current, membership_id: UUID) -> None:
    _require_admin(current)
    async with tenant_transaction(current.tenant_id, current.user_id):
        member = await _lock_member(current.tenant_id, membership_id)
        if member.role == "owner" and not current.is_owner:
            raise Forbidden("Only an owner can remove another owner.")
        if member.role == "owner" and not await _owners_left(current.tenant_id, membership_id):
            raise FormInvalid({"form": LAST_OWNER})
        removed = {"member_id": member.user_id, "role": member.role}
        await emit(
            WorkspaceSecurityEvent(current.tenant_id, "member_removed", current.user_id, removed)
        )
        deleted = (
            await Membership.delete()
            .where((Membership.id == membership_id) & (Membership.tenant_id == current.tenant_id))
            .returning(Membership.id)
        )
        if len(deleted) != 1:  # hidden by row-level security: not this workspace's
            raise RecordNotFound("member")
        gone = member.user_id
        after_commit(lambda: announce_access_change(gone))  # their open sockets close now
