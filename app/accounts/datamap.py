"""Where the accounts domain keeps personal data: logins, workspaces, memberships, invitations."""

from __future__ import annotations

from app.accounts import queries
from app.accounts.tables import Membership, Tenant, User
from app.core.datamap import ExportFile as File
from app.core.datamap import (
    Section,
    Subject,
    Viewer,
    col,
    in_each_tenant,
    register,
    table_place,
    tenant_table,
    utc,
    workspace_record,
)
from app.core.db import global_transaction, tenant_transaction, user_transaction

OWNER = "accounts"


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


def _my_account_file() -> File:
    return File(
        "my_account.csv",
        "Your login: name, address, when it was verified and created.",
        'select u.name as "Name", u.email as "Email",'
        f' {utc("u.email_verified_at")} as "Email verified (UTC)",'
        f' {utc("u.created_at")} as "Created (UTC)", {utc("u.updated_at")} as'
        ' "Last changed (UTC)", u.id as "User id" from users u where u.id = $1',
        (
            col("Name", "Your name as other members see it."),
            col("Email", "The address you sign in with and receive service mail at."),
            col("Email verified (UTC)", "When you confirmed the address (empty: not yet)."),
            col("Created (UTC)", "When the account was created."),
            col("Last changed (UTC)", "When your name, address or password last changed."),
            col("User id", "Odex's identifier of your account."),
        ),
        own_where="true",
    )


def _my_workspaces_file() -> File:
    return File(
        "my_workspaces.csv",
        "The workspaces you belong to and your role in each.",
        'select coalesce(t.name, \'(another workspace)\') as "Workspace", m.role as "Role",'
        f' {utc("m.created_at")} as "Member since (UTC)", m.tenant_id as "Workspace id"'
        " from memberships m left join tenants t on t.id = m.tenant_id where m.user_id = $1"
        " order by m.created_at",
        (
            col("Workspace", "The workspace's (company's) name."),
            col("Role", "owner, admin or member."),
            col("Member since (UTC)", "When you joined it."),
            col("Workspace id", "Odex's identifier of the workspace."),
        ),
        own_where="true",
    )


def _register() -> None:
    register(
        table_place(
            "users",
            OWNER,
            ("user",),
            "name, email address, Argon2id password hash, verification time, staff flag",
            retention="while the account exists",
            access="shown (Account)",
            export="my_account.csv",
            erasure="not affected (users are not contacts)",
            account_deletion="deleted; the row's deletion cascades tokens, MFA, known devices,"
            " policy notices, in-app notifications, usage events and exports",
            workspace_purge="members who belong to no other workspace are deleted as in an"
            " account deletion",
            user_columns=("id",),
            text_columns=("email",),
            read=_read_account,
            shown=1,
            exports=(_my_account_file(),),
            forget_user=_forget_account,
            order=900,
        )
    )
    register(
        tenant_table(
            "memberships",
            OWNER,
            ("user", "workspace"),
            "who belongs to which workspace, with which role",
            retention="while the person belongs to the workspace",
            access="shown (Workspaces and roles)",
            export="my_workspaces.csv",
            account_deletion="deleted in every workspace",
            user_columns=("user_id",),
            read=_read_memberships,
            shown=3,
            exports=(_my_workspaces_file(),),
            forget_user=_forget_memberships,
            order=800,
        )
    )
    register(
        tenant_table(
            "tenants",
            OWNER,
            ("workspace",),
            "the workspace's (company's) name",
            retention="while the workspace exists",
            access="shown (This workspace)",
            export="named in my_workspaces.csv",
            account_deletion="kept: the workspace is the company's (a sole owner chooses to"
            " hand it over or to delete it with the account)",
            workspace_purge="deleted last, after every other row of the workspace",
            read=_read_workspace,
            shown=2,
        )
    )
    register(
        tenant_table(
            "seller_details",
            OWNER,
            ("workspace",),
            "what the workspace prints on its invoices as the seller: legal name, address, VAT"
            " id, payment details (IBAN), footer; who changed them last",
            retention="while the workspace exists",
            access="not shown (Company settings, to the workspace's admins)",
            export="not exported (printed on every invoice of the workspace)",
            erasure="not affected (the workspace's own details)",
            account_deletion="the last editor is cleared (set to null)",
            user_columns=("updated_by",),
        )
    )
    register(
        workspace_record(
            "exchange_rates",
            OWNER,
            "the workspace's exchange rates to its default currency (currency code and rate),"
            " for deal totals on the board",
            access="not shown (Company settings, to the workspace's admins)",
            export="not exported (workspace settings, no personal data)",
            erasure="not affected (no personal data)",
            account_deletion="not affected (no personal data)",
        )
    )
    register(
        tenant_table(
            "invitations",
            OWNER,
            ("user", "workspace"),
            "the invited address, who invited, the role offered",
            retention="kept as the record of who was invited, until the workspace is deleted",
            access="not shown (the invitation is the workspace's record)",
            account_deletion="invitations to the person's addresses are deleted in their"
            " workspaces; those they sent lose the sender (set to null)",
            user_columns=("invited_by",),
            text_columns=("email",),
            forget_user=_forget_invitations,
        )
    )
    register(
        table_place(
            "email_tokens",
            OWNER,
            ("user",),
            "the address a verification, reset or invitation link was mailed to (the token"
            " itself only as a SHA-256 hash)",
            retention="until used or expired (24 h; resets 60 min; invitations 7 days)",
            access="not shown (single-use links)",
            export="not exported",
            erasure="not affected",
            account_deletion="deleted (by user and by address)",
            workspace_purge="invitation tokens of the workspace are deleted with it (cascade)",
            user_columns=("user_id",),
            workspace_columns=("target_tenant_id",),
            text_columns=("email",),
            forget_user=_forget_tokens,
            expire=_expire_tokens,
        )
    )


_register()
