"""The accounts' reads and writes beyond one table, as named typed functions: memberships
with their users and workspaces (Piccolo joins through the memberships' foreign keys), and
the SQL Piccolo cannot say well (the signed-in check, row locks, upserts). Ordinary
single-table reads and writes go through the Piccolo tables (app/accounts/tables.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Member
from app.accounts.tables import Membership
from app.core.db import connection
from app.core.folded import SIGNED_IN_PREFIX, STATE_ROW
from app.core.rows import (
    answers,
    columns_of,
    execute_count,
    fetch_as,
    fetch_one_as,
    fetch_value,
    rows_as,
)


class Workspace(msgspec.Struct, frozen=True):
    """One of a user's open workspaces, for the switcher."""

    tenant_id: UUID
    name: str
    role: str


class SignedInRow(msgspec.Struct, frozen=True):
    """What the request's `Current` is built from: the membership, workspace and user."""

    role: str
    tenant_name: str
    name: str
    email: str
    email_verified_at: datetime | None
    is_staff: bool
    time_zone: str = "UTC"
    locale: str = "en-GB"
    # an owner held by the workspace's owner-MFA rule (owner_lacks_required_mfa, same query)
    mfa_held: bool = False


class AccountRow(msgspec.Struct, frozen=True):
    """A user's account row (the password hash included: for sign-in only)."""

    id: UUID
    email: str
    name: str
    password_hash: str
    email_verified_at: datetime | None
    is_staff: bool
    created_at: datetime
    updated_at: datetime


async def user_with_email(conn: asyncpg.Connection, email: str) -> AccountRow | None:
    """The account with this address in any case (PostgreSQL's lower() on both sides)."""
    return await fetch_one_as(
        conn, AccountRow, "select * from users where lower(email) = lower($1)", email
    )


async def open_workspaces(user_id: UUID) -> list[Workspace]:
    """The user's memberships of active workspaces, oldest first (own-memberships policy)."""
    m = Membership
    rows = (
        await m.select(*columns_of(Workspace, m, name=m.tenant_id.name))
        .where((m.user_id == user_id) & (m.tenant_id.status == "active"))
        .order_by(m.created_at, m.tenant_id)
    )
    return rows_as(Workspace, rows)


async def signed_in_row(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID
) -> SignedInRow | None:
    """This workspace's membership of the user with the workspace and user, if active, and
    whether the owner-MFA rule holds them (asked on every request). One statement that sets
    its RLS scope itself (migrations/accounts, 1.42.0): run it with `db.self_scoped`, one
    round trip in all."""
    return await fetch_one_as(
        conn, SignedInRow, "select * from odex_signed_in($1, $2)", tenant_id, user_id
    )


_SIGNED_IN_FIELDS = SignedInRow.__struct_fields__


def signed_in_with_sql(call: str, roles: tuple[str, ...]) -> str:
    """The signed-in check and a page's state (`call`: a self-scoping function of `$1` the
    tenant, `$2` the user, `$3`... the page's own values) in one statement. The state is a
    sub-select of the signed-in row (LATERAL, kept a sub-query by OFFSET 0) gated on it: its
    filter names only the outer row, so PostgreSQL plans it as a one-time filter evaluated
    before the function is called, per signed-in row: no row (a revoked session, a removed
    member, another workspace's), a role not in `roles` or an owner held by the MFA rule,
    and the state function never runs (tests/accounts/test_folded.py checks the plan).
    The signed-in columns are named `si_<field>`; each state row has `odex_state_row` true
    (one row with NULLs: no state rows, or none read)."""
    listed = ", ".join(f"'{role}'" for role in roles if role.isalpha())
    signed_in = ", ".join(f"s.{name} as {SIGNED_IN_PREFIX}{name}" for name in _SIGNED_IN_FIELDS)
    return (
        f"select {signed_in}, st.* from odex_signed_in($1, $2) s"
        f" left join lateral (select true as {STATE_ROW}, f.* from {call} f"
        f" where s.role in ({listed}) and not s.mfa_held offset 0) st on true"
    )


async def signed_in_with(
    conn: asyncpg.Connection, sql: str, tenant_id: UUID, user_id: UUID, *params: object
) -> tuple[SignedInRow | None, list[asyncpg.Record]]:
    """`signed_in_row` with a page's state read in the same statement (`signed_in_with_sql`):
    the signed-in row (None: not signed in to this workspace) and the state's rows (none
    unless the row lets the user see the page)."""
    rows = await conn.fetch(sql, tenant_id, user_id, *params)
    if not rows:
        return None, []
    first = rows[0]
    row = SignedInRow(*(first[SIGNED_IN_PREFIX + name] for name in _SIGNED_IN_FIELDS))
    return row, [r for r in rows if r[STATE_ROW]]


def _owner_lacks_mfa(user: str) -> str:
    """SQL, in a tenant transaction: the workspace requires MFA for owners and the user (the
    parameter `user`) has none."""
    return (
        "coalesce((select mfa_required_for_owners from tenant_security limit 1), false)"
        f" and not exists (select 1 from user_mfa where user_id = {user}"
        " and enabled_at is not null)"
    )


async def owner_lacks_required_mfa(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """In a tenant transaction: the workspace requires MFA for owners and the user has none."""
    return await fetch_value(conn, bool, f"select {_owner_lacks_mfa('$1')}", user_id)


class Person(msgspec.Struct, frozen=True):
    """A member of the workspace: who they are, for pickers, mentions and hand-overs."""

    user_id: UUID
    name: str
    email: str


# one statement, prepared once per connection (the list pages' owner filter asks on every view)
WORKSPACE_PEOPLE = (
    "select m.user_id, u.name, u.email from memberships m left join users u on u.id = m.user_id"
    " order by lower(u.name), u.email"
)


async def workspace_people() -> list[Person]:
    """The members of the tenant transaction's workspace (RLS), by name then address."""
    return await fetch_as(connection(), Person, WORKSPACE_PEOPLE)


async def team_members(tenant_id: UUID) -> list[Member]:
    """The workspace's members with their accounts, in joining order."""
    m = Membership
    member = columns_of(
        Member,
        m,
        membership_id=m.id,
        name=m.user_id.name,
        email=m.user_id.email,
        joined_at=m.created_at,
        verified=QueryString("{} is not null", m.user_id.email_verified_at),
    )
    rows = await m.select(*member).where(m.tenant_id == tenant_id).order_by(m.created_at)
    return rows_as(Member, rows)


class WorkspaceAdmin(msgspec.Struct, frozen=True):
    """An owner or admin of the open workspace, with the workspace's name (for notices)."""

    id: UUID
    email: str
    name: str
    workspace: str


async def workspace_admins() -> list[WorkspaceAdmin]:
    """The open workspace's owners and admins, longest-standing first (RLS: this tenant's
    memberships only); billing notices and security alerts go to them."""
    m = Membership
    user = m.user_id
    admin = columns_of(
        WorkspaceAdmin, m, id=user, email=user.email, name=user.name, workspace=m.tenant_id.name
    )
    rows = await m.select(*admin).where(m.role.is_in(["owner", "admin"])).order_by(m.created_at)
    return rows_as(WorkspaceAdmin, rows)


async def is_member_email(conn: asyncpg.Connection, tenant_id: UUID, email: str) -> bool:
    """Is an account with this address (any case) already in the workspace?"""
    account = await user_with_email(conn, email)
    return account is not None and await Membership.exists().where(
        (Membership.tenant_id == tenant_id) & (Membership.user_id == account.id)
    )


async def lock_seller_version(conn: asyncpg.Connection, tenant_id: UUID) -> int:
    """Create the seller row if missing and lock it; its current version."""
    await conn.execute(
        "insert into seller_details (tenant_id) values ($1) on conflict do nothing", tenant_id
    )
    return await fetch_value(
        conn, int, "select version from seller_details where tenant_id = $1 for update", tenant_id
    )


async def remember_device(
    conn: asyncpg.Connection, user_id: UUID, digest: str, label: str, now: datetime
) -> bool:
    """Record a sign-in from a device (insert, or touch `last_seen`); True when it is new."""
    return await fetch_value(
        conn,
        bool,
        "insert into known_devices (user_id, device_hash, label) values ($1, $2, $3)"
        " on conflict (user_id, device_hash) do update set last_seen = $4"
        " returning (xmax = 0)",
        user_id,
        digest,
        label,
        now,
    )


async def has_devices(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """Has the user signed in from any device before? (known_devices is security's table.)"""
    return await answers(conn, "select 1 from known_devices where user_id = $1 limit 1", user_id)


async def mfa_enabled(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """Has the user turned two-factor authentication on? (user_mfa is security's table.)"""
    return await answers(
        conn, "select 1 from user_mfa where user_id = $1 and enabled_at is not null", user_id
    )


async def delete_tokens_of(
    conn: asyncpg.Connection, user_id: UUID | None, emails: list[str]
) -> int:
    """Forget the mailed tokens of a user or of any of these (lower-cased) addresses."""
    return await execute_count(
        conn,
        "delete from email_tokens where user_id = $1 or lower(email) = any($2::text[])",
        user_id,
        emails,
    )


async def delete_spent_tokens(conn: asyncpg.Connection) -> int:
    """Used or expired tokens, a day on (the day lets a late click say "already used")."""
    return await execute_count(
        conn,
        "delete from email_tokens where expires_at < now() - interval '1 day'"
        " or used_at < now() - interval '1 day'",
    )
