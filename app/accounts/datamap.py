"""The code of the accounts domain's data map (app/accounts/datamap.toml): logins, workspaces,
memberships, invitations."""

from __future__ import annotations

from app.accounts import queries
from app.accounts.tables import Membership, Tenant, User
from app.core.datamap import Section, Subject, Treatments, Viewer, in_each_tenant
from app.core.db import global_transaction, tenant_transaction, user_transaction


async def _read_account(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with global_transaction():
        row = await (
            User.select(
                User.name,
                User.email,
                User.email_verified_at,
                User.is_staff,
                User.created_at,
                User.updated_at,
                User.id,
            )
            .where(User.id == viewer.user_id)
            .first()
        )
    rows = [row] if row else []
    return Section(
        "Account",
        [
            ("name", "Name"),
            ("email", "Email"),
            ("email_verified_at", "Email verified"),
            ("created_at", "Created"),
            ("updated_at", "Last changed"),
            ("id", "User id"),
        ],
        rows,
        note="Your password is stored only as an Argon2id hash.",
    )


async def _forget_account(subject: Subject) -> int:
    """The login goes last: it cascades tokens, MFA, devices, policy notices, feed entries."""
    if subject.user_id is None:
        return 0
    user_id = subject.user_id
    async with global_transaction():
        deleted = await User.delete().where(User.id == user_id).returning(User.id)
    return len(deleted)


async def _read_memberships(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with user_transaction(viewer.user_id):
        rows = await (
            Membership.select(Membership.tenant_id, Membership.role, Membership.created_at)
            .where(Membership.user_id == viewer.user_id)
            .order_by(Membership.created_at)
        )
    for row in rows:  # a member may read their own workspace's name
        async with tenant_transaction(row["tenant_id"]):
            tenant = await Tenant.select(Tenant.name).where(Tenant.id == row["tenant_id"]).first()
            row["workspace"] = tenant["name"] if tenant else None
    return Section(
        "Workspaces and roles",
        [("workspace", "Workspace"), ("role", "Role"), ("created_at", "Member since")],
        rows,
    )


async def _forget_memberships(subject: Subject) -> int:
    return await in_each_tenant(
        subject.tenant_ids, "delete from memberships where user_id = $1", subject.user_id
    )


async def _read_workspace(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with tenant_transaction(viewer.tenant_id):
        row = await (
            Tenant.select(Tenant.name, Tenant.status, Tenant.created_at, Tenant.updated_at)
            .where(Tenant.id == viewer.tenant_id)
            .first()
        )
    return Section(
        "This workspace (company)",
        [("name", "Company"), ("status", "Status"), ("created_at", "Created")],
        [row] if row else [],
    )


async def _forget_invitations(subject: Subject) -> int:
    """Invitations sent to the person's addresses (accepted or not) in their workspaces."""
    emails = [e.lower() for e in subject.emails]
    return await in_each_tenant(
        subject.tenant_ids, "delete from invitations where lower(email) = any($1::text[])", emails
    )


async def _forget_tokens(subject: Subject) -> int:
    """Mailed tokens for the address (an invitation's have no user yet)."""
    async with global_transaction() as conn:
        return await queries.delete_tokens_of(
            conn, subject.user_id, [e.lower() for e in subject.emails]
        )


async def _expire_tokens() -> int:
    """Used or expired links, a day on (the day lets a late click say "already used")."""
    async with global_transaction() as conn:
        return await queries.delete_spent_tokens(conn)


TREATMENTS = Treatments(
    read=[_read_account, _read_memberships, _read_workspace],
    forget_user=[_forget_account, _forget_memberships, _forget_invitations, _forget_tokens],
    expire=[_expire_tokens],
)
