"""The workspace dashboard: pipeline, won this month, my tasks, unpaid invoices, recent activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.accounts.schemas import Current
from app.core import formats
from app.core.db import tenant_transaction
from app.crm.notes import subject_link


@dataclass(frozen=True)
class Step:
    """One item of the first-run checklist, done when the workspace's data says so."""

    key: str
    title: str
    hint: str
    link: str
    action: str
    done: bool


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
    onboarding: list[Step] = field(default_factory=list)

    @property
    def onboarding_left(self) -> int:
        return sum(1 for step in self.onboarding if not step.done)

    @property
    def is_empty(self) -> bool:
        return not (self.contacts or self.companies or self.open_deals)


async def load_dashboard(current: Current) -> Dashboard:
    """One tenant transaction, a handful of indexed aggregate queries (tenant_id leads)."""
    board = Dashboard()
    today = formats.today(current.time_zone)  # the reader's day and month
    month_start = today.replace(day=1)
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
                "overdue": t["due_date"] is not None and t["due_date"] < today,
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
        board.onboarding = await _onboarding(conn, current)
    return board


async def _onboarding(conn: Any, current: Current) -> list[Step]:
    """The checklist for this person: the steps their role can take, ticked from the data
    (an import or a contact, a colleague or an invitation, an edited or second pipeline, a
    deal). Empty once hidden or all done."""
    row = await conn.fetchrow(
        "select"
        " (select onboarding_hidden_at from memberships where user_id = $1) as hidden,"
        " exists (select 1 from contacts) or exists (select 1 from crm_imports) as people,"
        " (select count(*) from memberships) > 1"
        "   or exists (select 1 from invitations) as team,"
        " (select count(*) from pipelines) > 1 or exists (select 1 from stages where version > 1)"
        "   or exists (select 1 from pipelines where version > 1) as pipeline,"
        " exists (select 1 from deals) as deal",
        current.user_id,
    )
    if row["hidden"] is not None:
        return []
    steps = [
        Step(
            "people",
            "Bring in your contacts",
            "Import a CSV from your old CRM or spreadsheet, or add people by hand.",
            "/imports/new",
            "Import contacts",
            row["people"],
        ),
        Step(
            "deal",
            "Create your first deal",
            "Put an opportunity on the board; your team sees every move live.",
            "/deals/new",
            "Create a deal",
            row["deal"],
        ),
    ]
    if current.is_admin:
        team = Step(
            "team",
            "Invite your team",
            "Colleagues join with the role you choose.",
            "/settings/team",
            "Invite people",
            row["team"],
        )
        pipeline = Step(
            "pipeline",
            "Shape your pipeline",
            "Rename, add or reorder the stages to match how you sell.",
            "/deals/pipelines",
            "Edit stages",
            row["pipeline"],
        )
        steps[1:1] = [team, pipeline]
    return [] if all(step.done for step in steps) else steps


async def hide_onboarding(current: Current) -> None:
    """Put the checklist away for this person in this workspace (for good)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await conn.execute(
            "update memberships set onboarding_hidden_at = now()"
            " where user_id = $1 and onboarding_hidden_at is null",
            current.user_id,
        )
