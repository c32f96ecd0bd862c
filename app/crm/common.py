"""Shared pieces of the CRM services: workspace members, the open connection, record lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import connection, tenant_transaction
from app.core.errors import FormInvalid


@dataclass(frozen=True)
class Person:
    user_id: UUID
    name: str
    email: str


def conn() -> asyncpg.Connection:
    """The connection of the open tenant transaction (services call this inside one)."""
    return connection()


async def members() -> list[Person]:
    """People in the current workspace, by name."""
    rows = await conn().fetch(
        "select u.id, u.name, u.email from memberships m join users u on u.id = m.user_id"
        " order by lower(u.name)"
    )
    return [Person(r["id"], r["name"], r["email"]) for r in rows]


async def check_member(user_id: UUID | None, field: str, label: str) -> None:
    """Refuse a user id that is not a member of the current workspace."""
    if user_id is None:
        return
    found = await conn().fetchval("select 1 from memberships where user_id = $1", user_id)
    if not found:
        raise FormInvalid({field: f"Choose {label} from your workspace."})


async def readable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """`data` with company_id / owner_id replaced by names, so the timeline reads well."""
    if data is None:
        return None
    out = dict(data)
    if out.get("company_id"):
        out["company_id"] = await conn().fetchval(
            "select name from companies where id = $1", out["company_id"]
        )
    if out.get("owner_id"):
        out["owner_id"] = await conn().fetchval(
            "select name from users where id = $1", out["owner_id"]
        )
    return out


async def member_options(current: Current) -> list[tuple[str, str]]:
    """(user id, name) pairs of the workspace's people, for an owner/assignee select."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        return [(str(p.user_id), p.name) for p in await members()]
