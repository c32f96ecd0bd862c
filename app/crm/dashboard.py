"""The workspace dashboard: pipeline, won this month, my tasks, unpaid invoices, recent activity.

The workspace's figures (open pipeline, won this month, unpaid invoices, recent activity,
whether any deal exists) are the same for each of its members: each web process keeps them
while nothing they show changed, so a page costs one small statement instead of an aggregate
over every deal. What they show is decided by the database's rows and the reader's month.
The rows: `dashboard_versions.version`, bumped by triggers (migrations/invoices, 1.45.0) in
the transaction of any change of the deals, stages, counted invoices or timeline entries of
the workspace; `board_epoch`, bumped when a person's name (an entry's actor) changes. Both
are read with the page's state (one self-scoped statement) and, when the
figures must be read, again in their transaction before them. The reader's month:
"won this month" starts on the first day of the reader's month, part of the key. What is per
person or one indexed row (my tasks, the checklist, the record counts) is read every time."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import NamedTuple
from uuid import UUID

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.accounts.tables import Membership
from app.core import formats
from app.core.db import self_scoped, tenant_transaction
from app.core.kept import CSRF_MARK, KeptMarkup, with_csrf
from app.core.templating import render_html
from app.crm import dashboard_queries, queries
from app.crm.dashboard_queries import DashboardState
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


# workspaces' figures kept per process (oldest used dropped first): a few hundred bytes each
KEPT_FIGURES = 256


class FiguresKey(NamedTuple):
    """Everything a workspace's kept figures depend on."""

    tenant_id: UUID
    version: int  # dashboard_versions.version
    epoch: int  # board_epoch.version (the recent entries' actors' names)
    month_start: date  # "won this month": the first day of the reader's month


@dataclass(frozen=True, slots=True)
class Figures:
    """The workspace's figures, the same for each of its members: kept per process under a
    FiguresKey while the dashboard version read in the page's transaction stays the same."""

    open_deals: int
    pipeline: list[tuple[str, Decimal]]
    won_this_month: list[tuple[str, Decimal]]
    unpaid_invoices: int
    overdue_invoices: int
    recent: list[RecentEntry]
    any_deal: bool  # the checklist's "deal" step


_kept: OrderedDict[FiguresKey, Figures] = OrderedDict()


def forget_all() -> None:
    """Drop every kept workspace's figures and rendered content (tests)."""
    _kept.clear()
    _contents.clear()


def kept_figures() -> int:
    """How many workspaces' figures this process keeps (tests)."""
    return len(_kept)


async def read_figures(conn: asyncpg.Connection, month_start: date) -> Figures:
    """The workspace's figures, read now (the deals' aggregate, invoices, timeline)."""
    totals = await dashboard_queries.deal_totals(conn, month_start)
    unpaid, overdue, any_deal = await dashboard_queries.invoice_and_deal_facts(conn)
    recent = [
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
    return Figures(
        open_deals=sum(t.n for t in totals if t.kind == "open"),
        pipeline=[(t.currency, t.total) for t in totals if t.kind == "open"],
        won_this_month=[(t.currency, t.total) for t in totals if t.kind == "won"],
        unpaid_invoices=unpaid,
        overdue_invoices=overdue,
        recent=recent,
        any_deal=any_deal,
    )


async def _figures(
    conn: asyncpg.Connection, current: Current, state: DashboardState, month_start: date
) -> Figures:
    """The kept figures when the versions read in this transaction match, else read now (and
    kept). Read after the versions in the same transaction, figures are at least as new as the
    versions they are kept under; a change committed since bumped the version (at its commit),
    so the next page in every process reads again."""
    if state.version is None:  # no row (never expected): read each time
        return await read_figures(conn, month_start)
    key = FiguresKey(current.tenant_id, state.version, state.epoch, month_start)
    figures = _kept.get(key)
    if figures is None:
        figures = await read_figures(conn, month_start)
        _kept[key] = figures
        while len(_kept) > KEPT_FIGURES:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(key)
    return figures


async def _dashboard(
    conn: asyncpg.Connection, current: Current, state: DashboardState, today: date
) -> Dashboard:
    """The dashboard for `current` on their day `today`, from the state read in this
    transaction and the workspace's figures (kept or read)."""
    figures = await _figures(conn, current, state, today.replace(day=1))
    return Dashboard(
        contacts=state.contacts,
        companies=state.companies,
        open_deals=figures.open_deals,
        pipeline=figures.pipeline,
        won_this_month=figures.won_this_month,
        my_tasks=[
            MyTask(
                t.id,
                t.title,
                t.due_date,
                t.subject_type,
                t.subject_id,
                link=subject_link(t.subject_type, t.subject_id),
                overdue=t.due_date is not None and t.due_date < today,
            )
            for t in dashboard_queries.my_tasks(state)
        ],
        unpaid_invoices=figures.unpaid_invoices,
        overdue_invoices=figures.overdue_invoices,
        recent=figures.recent,
        onboarding=_onboarding(current, state, figures.any_deal),
    )


class ContentKey(NamedTuple):
    """Everything a kept dashboard content depends on: the state read on every page (the
    versions of the kept figures, my tasks, the checklist's facts, the record counts), the
    reader's day (overdue tasks, the month), role (the checklist's steps), workspace name,
    locale and time zone."""

    tenant_id: UUID
    state: DashboardState
    today: date
    is_admin: bool
    tenant_name: str
    prefs: formats.Prefs


KEPT_CONTENTS = 512  # rendered contents kept per process (a few kB each) ...
KEPT_SIZE = 8_000_000  # ... and their size in all (UTF-8 bytes, about)
_contents: KeptMarkup[ContentKey] = KeptMarkup(KEPT_CONTENTS, KEPT_SIZE)


def kept_contents() -> int:
    """How many rendered contents this process keeps (tests)."""
    return len(_contents)


def _content_key(current: Current, state: DashboardState, today: date) -> ContentKey:
    return ContentKey(
        current.tenant_id,
        state,
        today,
        current.is_admin,
        current.tenant_name,
        formats.current(),
    )


async def dashboard_content(
    current: Current, csrf: str, folded: list[asyncpg.Record] | None = None
) -> bytes:
    """The dashboard's content (UTF-8) for `current` with the CSRF token `csrf`: kept while
    the state (one self-scoped statement, `odex_dashboard_state`: one round trip, no
    transaction) is the same, else everything is read again in one transaction, the state
    first, and rendered from the figures (kept or read) and kept. Rendered from what the key
    holds only, so the kept content is what rendering now would give."""
    today = formats.today(current.time_zone)
    ids = {"tenant_id": current.tenant_id, "user_id": current.user_id}
    state = dashboard_queries.folded_state(folded)  # read with the signed-in check
    if state is None:
        state = await self_scoped(
            current.tenant_id, current.user_id, partial(dashboard_queries.dashboard_state, **ids)
        )
    content = _contents.get(_content_key(current, state, today))
    if content is not None:
        return with_csrf(content, csrf)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        state = await dashboard_queries.dashboard_state(conn, **ids)
        key = _content_key(current, state, today)
        content = _contents.get(key)
        if content is None:
            board = await _dashboard(conn, current, state, today)
            ctx = {"board": board, "tenant_name": current.tenant_name, "csrf_token": CSRF_MARK}
            content = render_html("crm/_dashboard.html", ctx).encode()
            if state.version is not None:  # no version row (never expected): never kept
                _contents.keep(key, content)
    return with_csrf(content, csrf)


def _onboarding(current: Current, state: DashboardState, any_deal: bool) -> list[Step]:
    """The checklist for this person: the steps their role can take, ticked from the data
    (an import or a contact, a colleague or an invitation, an edited or second pipeline, a
    deal). Empty once hidden or all done."""
    if state.hidden:
        return []
    steps = [
        Step(
            "people",
            "Bring in your contacts",
            "Import a CSV from your old CRM or spreadsheet, or add people by hand.",
            "/imports/new",
            "Import contacts",
            bool(state.people),
        ),
        Step(
            "deal",
            "Create your first deal",
            "Put an opportunity on the board; your team sees every move live.",
            "/deals/new",
            "Create a deal",
            any_deal,
        ),
    ]
    if current.is_admin:
        team = Step(
            "team",
            "Invite your team",
            "Colleagues join with the role you choose.",
            "/settings/team",
            "Invite people",
            bool(state.team),
        )
        pipeline = Step(
            "pipeline",
            "Shape your pipeline",
            "Rename, add or reorder the stages to match how you sell.",
            "/deals/pipelines",
            "Edit stages",
            bool(state.pipeline),
        )
        steps[1:1] = [team, pipeline]
    return [] if all(step.done for step in steps) else steps


async def hide_onboarding(current: Current) -> None:
    """Put the checklist away for this person in this workspace (for good)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        await Membership.update({Membership.onboarding_hidden_at: QueryString("now()")}).where(
            (Membership.user_id == current.user_id) & Membership.onboarding_hidden_at.is_null()
        )
