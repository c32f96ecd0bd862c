"""The dashboard's SQL: what every page reads (the versions its kept figures depend on, and the
parts that are per person or one indexed row: my tasks, the checklist's facts, the record
counts) in one statement, and the workspace's figures read when none are kept (open pipeline,
won this month, unpaid invoices, whether any deal exists). Call inside the caller's tenant
transaction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

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


# $1 the tenant, $2 the user. The checklist's facts are read only while it is shown (a CASE
# evaluates its sub-selects only when taken); the contact fact is the kept record count.
DASHBOARD_STATE = """
select v.version, e.version as epoch, rc.contacts, rc.companies,
       m.onboarding_hidden_at is not null as hidden,
       case when m.onboarding_hidden_at is null then
            rc.contacts > 0 or exists (select 1 from crm_imports) end as people,
       case when m.onboarding_hidden_at is null then
            (select count(*) from memberships ms where ms.tenant_id = $1) > 1
            or exists (select 1 from invitations) end as team,
       case when m.onboarding_hidden_at is null then
            (select count(*) from pipelines) > 1
            or exists (select 1 from stages where version > 1)
            or exists (select 1 from pipelines where version > 1) end as pipeline,
       coalesce((
            select json_agg(json_build_object('id', t.id, 'title', t.title,
                                              'due_date', t.due_date,
                                              'subject_type', t.subject_type,
                                              'subject_id', t.subject_id)
                            order by t.due_date, t.created_at)
              from (select id, title, due_date, subject_type, subject_id, created_at
                      from tasks where assignee_id = $2 and done_at is null
                     order by due_date, created_at limit 6) t
       ), '[]')::text as tasks
from board_epoch e
cross join lateral (
    select coalesce(max(r.total) filter (where r.kind = 'contact'), 0) as contacts,
           coalesce(max(r.total) filter (where r.kind = 'company'), 0) as companies
      from record_counts r where r.tenant_id = $1
) rc
left join dashboard_versions v on v.tenant_id = $1
left join memberships m on m.tenant_id = $1 and m.user_id = $2
"""

_TASKS = msgspec.json.Decoder(list[MyTaskRow])


async def dashboard_state(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID
) -> DashboardState:
    """The versions, my tasks, the checklist's facts and the record counts, in one statement."""
    row = await conn.fetchrow(DASHBOARD_STATE, tenant_id, user_id)
    assert row is not None  # board_epoch has its one row
    return row_as(DashboardState, row)


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
