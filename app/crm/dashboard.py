"""The workspace dashboard: pipeline, won this month, my tasks, unpaid invoices, recent activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.crm.notes import subject_link


@dataclass
class Dashboard:
    """Figures for the home page of one workspace, as the signed-in user sees them."""

    contacts: int = 0
    companies: int = 0
    open_deals: int = 0
    pipeline: list[tuple[str, Decimal]] = field(default_factory=list)
    won_this_month: list[tuple[str, Decimal]] = field(default_factory=list)
    my_tasks: list[dict[str, Any]] = field(default_factory=list)
    unpaid_invoices: int = 0
    overdue_invoices: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.contacts or self.companies or self.open_deals)


async def load_dashboard(current: Current) -> Dashboard:
    """One tenant transaction, a handful of indexed aggregate queries (tenant_id leads)."""
    board = Dashboard()
    month_start = date.today().replace(day=1)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        board.contacts = await conn.fetchval("select count(*) from contacts")
        board.companies = await conn.fetchval("select count(*) from companies")
        rows = await conn.fetch(
            "select s.kind, d.currency, count(*) as n, sum(d.amount) as total"
            " from deals d join stages s on s.id = d.stage_id"
            " where s.kind = 'open' or (s.kind = 'won' and d.updated_at >= $1)"
            " group by s.kind, d.currency order by total desc",
            month_start,
        )
        board.open_deals = sum(r["n"] for r in rows if r["kind"] == "open")
        board.pipeline = [(r["currency"], r["total"]) for r in rows if r["kind"] == "open"]
        board.won_this_month = [(r["currency"], r["total"]) for r in rows if r["kind"] == "won"]
        tasks = await conn.fetch(
            "select id, title, due_date, subject_type, subject_id from tasks"
            " where assignee_id = $1 and done_at is null"
            " order by due_date nulls last, created_at limit 6",
            current.user_id,
        )
        board.my_tasks = [
            {
                **dict(t),
                "link": subject_link(t["subject_type"], t["subject_id"]),
                "overdue": t["due_date"] is not None and t["due_date"] < date.today(),
            }
            for t in tasks
        ]
        invoices = await conn.fetchrow(
            "select count(*) filter (where status in ('sent', 'overdue')) as unpaid,"
            " count(*) filter (where status = 'overdue') as overdue from invoices"
        )
        board.unpaid_invoices, board.overdue_invoices = invoices["unpaid"], invoices["overdue"]
        recent = await conn.fetch(
            "select a.summary, a.created_at, a.subject_type, a.subject_id, u.name as actor"
            " from activities a left join users u on u.id = a.actor_id"
            " order by a.created_at desc limit 8"
        )
        board.recent = [
            {**dict(r), "link": subject_link(r["subject_type"], r["subject_id"])} for r in recent
        ]
    return board
