"""Shared pieces of the CRM services: workspace members, the open connection, record lookups,
the current person's new rows."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from piccolo.table import Table

from app.accounts.queries import Person as Person
from app.accounts.queries import workspace_people
from app.accounts.schemas import Current
from app.accounts.tables import Membership, User
from app.core.db import connection, tenant_transaction
from app.core.errors import FormInvalid
from app.core.rows import insert_new
from app.crm.tables import Company


def conn() -> asyncpg.Connection:
    """The connection of the open tenant transaction (services call this inside one)."""
    return connection()


async def insert_mine(table: type[Table], current: Current, row_id: UUID, **values: object) -> None:
    """Insert the row `row_id` of `table` that the current person makes theirs (its tenant_id
    and user_id are theirs) with `values`; other columns are left to the database."""
    await insert_new(
        table, id=row_id, tenant_id=current.tenant_id, user_id=current.user_id, **values
    )


async def members() -> list[Person]:
    """People in the current workspace, by name."""
    return await workspace_people()


async def check_member(user_id: UUID | None, field: str, label: str) -> None:
    """Refuse a user id that is not a member of the current workspace."""
    if user_id is None:
        return
    if not await Membership.exists().where(Membership.user_id == user_id):
        raise FormInvalid({field: f"Choose {label} from your workspace."})


async def readable(data: dict[str, object] | None) -> dict[str, object] | None:
    """`data` with company_id / owner_id replaced by names, so the timeline reads well."""
    if data is None:
        return None
    out = dict(data)
    if out.get("company_id"):
        company = await Company.select(Company.name).where(Company.id == out["company_id"]).first()
        out["company_id"] = company["name"] if company else None
    if out.get("owner_id"):
        owner = await User.select(User.name).where(User.id == out["owner_id"]).first()
        out["owner_id"] = owner["name"] if owner else None
    return out


async def member_options(current: Current) -> list[tuple[str, str]]:
    """(user id, name) pairs of the workspace's people, for an owner/assignee select."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        return [(str(p.user_id), p.name) for p in await members()]
