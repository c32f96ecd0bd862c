"""The dashboard's SQL: what every page reads (the versions its kept figures depend on, and the
parts that are per person or one indexed row: my tasks, the checklist's facts, the record
counts) in one self-scoped statement, and the workspace's figures read when none are kept (open
pipeline, won this month, unpaid invoices, whether any deal exists), inside the caller's
tenant transaction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from app.core.folded import StateRead
from app.core.rows import fetch_as, row_as


class MyTaskRow(msgspec.Struct, frozen=True):
    """An open task given to the signed-in user (the dashboard's list)."""

    id: UUID
    title: str
    due_date: date | None
    subject_type: str
    subject_id: UUID


class DashboardState(msgspec.Struct, frozen=True):
    """What a dashboard page reads every time. `version`: the workspace's dashboard version
    (None: no row, never kept); `epoch`: `board_epoch` (people's names: the recent entries'
    actors). The checklist's facts (`people`, `team`, `pipeline`) are None once it is hidden;
    `tasks` is my open tasks as JSON (MyTaskRow, at most six, soonest due first)."""

    version: int | None
    epoch: int
    contacts: int
    companies: int
    hidden: bool
    people: bool | None
    team: bool | None
    pipeline: bool | None
    tasks: str


# $1 the tenant, $2 the user: one statement that sets its RLS scope itself (migrations/crm,
# 1.48.0), run by `db.self_scoped` (or in the open transaction of the same scope). The
# checklist's facts are read only while it is shown (a CASE evaluates its sub-selects only
# when taken); the contact fact is the kept record count.
DASHBOARD_STATE = "select * from odex_dashboard_state($1, $2)"
# the same read folded into the page's signed-in check (app/core/folded.py)
DASHBOARD_READ = StateRead("dashboard", "odex_dashboard_state($1, $2)")

_TASKS = msgspec.json.Decoder(list[MyTaskRow])


async def dashboard_state(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID
) -> DashboardState:
    """The versions, my tasks, the checklist's facts and the record counts, in one statement
    that sets its own RLS scope (a `db.self_scoped` statement)."""
    row = await conn.fetchrow(DASHBOARD_STATE, tenant_id, user_id)
    assert row is not None  # board_epoch has its one row
    return row_as(DashboardState, row)


def folded_state(rows: list[asyncpg.Record] | None) -> DashboardState | None:
    """The state read with the signed-in check (`DASHBOARD_READ`), if it was."""
    return row_as(DashboardState, rows[0]) if rows else None


def my_tasks(state: DashboardState) -> list[MyTaskRow]:
    """The tasks of a state, decoded."""
    return _TASKS.decode(state.tasks)


class DealTotal(msgspec.Struct, frozen=True):
    """Open deals, or deals won since a day, of one currency."""

    kind: str
    currency: str
    n: int
    total: Decimal


async def deal_totals(conn: asyncpg.Connection, won_since: date) -> list[DealTotal]:
    """Open deals and those won since `won_since`, per stage kind and currency, largest first."""
    return await fetch_as(
        conn,
        DealTotal,
        "select s.kind, d.currency, count(*) as n, sum(d.amount) as total"
        " from deals d join stages s on s.id = d.stage_id"
        " where s.kind = 'open' or (s.kind = 'won' and d.updated_at >= $1)"
        " group by s.kind, d.currency order by total desc",
        won_since,
    )


async def invoice_and_deal_facts(conn: asyncpg.Connection) -> tuple[int, int, bool]:
    """(unpaid invoices, overdue invoices, whether the workspace has any deal)."""
    row = await conn.fetchrow(
        "select count(*) filter (where status in ('sent', 'overdue')) as unpaid,"
        " count(*) filter (where status = 'overdue') as overdue,"
        " exists (select 1 from deals) as any_deal from invoices"
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["unpaid"]), int(row["overdue"]), bool(row["any_deal"])
