"""The workspace dashboard: pipeline, won this month, my tasks, unpaid invoices, recent activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.accounts.tables import Membership
from app.core import formats
from app.core.db import tenant_transaction
from app.crm import list_queries, queries
from app.crm.notes import subject_link
from app.crm.tables import Task


@dataclass(frozen=True)
class Step:
    """One item of the first-run checklist, done when the workspace's data says so."""

    key: str
    title: str
    hint: str
    link: str
    action: str
    done: bool


class MyTask(msgspec.Struct, frozen=True):
    """An open task given to the signed-in user, with its record's page."""

    id: UUID
    title: str
    due_date: date | None
    subject_type: str
    subject_id: UUID
    link: str
    overdue: bool


class RecentEntry(msgspec.Struct, frozen=True):
    """A recent timeline entry with its record's page."""

    summary: str
    created_at: datetime
    subject_type: str
    subject_id: UUID
    actor: str | None
    link: str


@dataclass
class Dashboard:
    """Figures for the home page of one workspace, as the signed-in user sees them."""

    contacts: int = 0
    companies: int = 0
    open_deals: int = 0
    pipeline: list[tuple[str, Decimal]] = field(default_factory=list)
    won_this_month: list[tuple[str, Decimal]] = field(default_factory=list)
    my_tasks: list[MyTask] = field(default_factory=list)
    unpaid_invoices: int = 0
    overdue_invoices: int = 0
    recent: list[RecentEntry] = field(default_factory=list)
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
        counts = await list_queries.record_counts(conn, current.tenant_id)  # kept by triggers
        board.contacts, board.companies = counts["contact"], counts["company"]
        totals = await queries.deal_totals(conn, month_start)
        board.open_deals = sum(t.n for t in totals if t.kind == "open")
        board.pipeline = [(t.currency, t.total) for t in totals if t.kind == "open"]
        board.won_this_month = [(t.currency, t.total) for t in totals if t.kind == "won"]
        tasks = (
            await Task.select(
                Task.id, Task.title, Task.due_date, Task.subject_type, Task.subject_id
            )
            .where((Task.assignee_id == current.user_id) & Task.done_at.is_null())
            .order_by(Task.due_date, Task.created_at)  # ascending: undated (null) last
            .limit(6)
        )
        board.my_tasks = [
            MyTask(
                **t,
                link=subject_link(t["subject_type"], t["subject_id"]),
                overdue=t["due_date"] is not None and t["due_date"] < today,
            )
            for t in tasks
        ]
        board.unpaid_invoices, board.overdue_invoices = await queries.unpaid_invoice_counts(conn)
        board.recent = [
            RecentEntry(
                r.summary,
                r.created_at,
                r.subject_type,
                r.subject_id,
                r.actor,
                subject_link(r.subject_type, r.subject_id),
            )
            for r in await queries.timeline_rows(conn, 8)
        ]
        board.onboarding = await _onboarding(conn, current)
    return board


async def _onboarding(conn: asyncpg.Connection, current: Current) -> list[Step]:
    """The checklist for this person: the steps their role can take, ticked from the data
    (an import or a contact, a colleague or an invitation, an edited or second pipeline, a
    deal). Empty once hidden or all done."""
    row = await queries.onboarding_state(conn, current.user_id)
    if row.hidden:
        return []
    steps = [
        Step(
            "people",
            "Bring in your contacts",
            "Import a CSV from your old CRM or spreadsheet, or add people by hand.",
            "/imports/new",
            "Import contacts",
            row.people,
        ),
        Step(
            "deal",
            "Create your first deal",
            "Put an opportunity on the board; your team sees every move live.",
            "/deals/new",
            "Create a deal",
            row.deal,
        ),
    ]
    if current.is_admin:
        team = Step(
            "team",
            "Invite your team",
            "Colleagues join with the role you choose.",
            "/settings/team",
            "Invite people",
            row.team,
        )
        pipeline = Step(
            "pipeline",
            "Shape your pipeline",
            "Rename, add or reorder the stages to match how you sell.",
            "/deals/pipelines",
            "Edit stages",
            row.pipeline,
        )
        steps[1:1] = [team, pipeline]
    return [] if all(step.done for step in steps) else steps


async def hide_onboarding(current: Current) -> None:
    """Put the checklist away for this person in this workspace (for good)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        await Membership.update({Membership.onboarding_hidden_at: QueryString("now()")}).where(
            (Membership.user_id == current.user_id) & Membership.onboarding_hidden_at.is_null()
        )
