"""The deals' SQL that Piccolo cannot say well, as named typed functions: the card select and
its keyset pages, joined reads and pickers, the default pipeline's race-free insert, the
board's lock and position arithmetic; and the reads a move decides on (plain SQL: the board's
hot path). Ordinary single-table reads and writes go through the Piccolo tables
(app/deals/tables.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from app.core.paging import Params, SortSpec, Window, keyset_page, like_pattern, window_page
from app.core.rows import (
    Choices,
    answers,
    fetch_as,
    fetch_choices,
    row_as,
)
from app.crm.filters import DealView, deal_search, deal_where
from app.deals.schemas import (
    Column,
    ContactRef,
    CurrencyTotal,
    DealCard,
    DealDetail,
    DealPage,
    DealRow,
    DealTable,
    NextActivity,
    Rates,
    StageChoice,
    StageInfo,
    stage_column,
)

CARD_COLUMNS = """
select d.id, d.title, d.amount, d.currency, d.pipeline_id, d.stage_id,
       s.name as stage_name, s.kind as stage_kind, d.position, d.version,
       d.expected_close_date, d.owner_id, u.name as owner_name,
       d.company_id, c.name as company_name, d.lost_reason, d.created_at, d.updated_at,
       na.kind as next_kind, na.title as next_title, na.due_at as next_due_at,
       na.due_date as next_due_date, coalesce(na.overdue, false) as next_overdue"""
CARD_FROM = """
from deals d
join stages s on s.id = d.stage_id
left join users u on u.id = d.owner_id
left join companies c on c.id = d.company_id
-- the deal's next open activity (index tasks_open_by_subject): one lateral in the same read
left join lateral (
    select t.kind, t.title, t.due_at, t.due_date,
           t.due_at < now() or t.due_date < current_date as overdue
    from tasks t
    where t.tenant_id = d.tenant_id and t.subject_type = 'deal' and t.subject_id = d.id
      and t.done_at is null
    order by coalesce(t.due_at, t.due_date::timestamp at time zone 'UTC') nulls last,
             t.created_at
    limit 1
) na on true
"""
CARD_SELECT = CARD_COLUMNS + CARD_FROM


def card_from_row(row: Mapping[str, Any] | asyncpg.Record) -> DealCard:
    """A card from CARD_SELECT's row (its `next_*` columns: the deal's next open activity).

    Built field by field, not converted: a board makes 200 at a time, and the row's values
    already have the card's types (asyncpg decodes uuid, numeric, float8, date, timestamptz)."""
    next_title = row["next_title"]
    return DealCard(
        id=row["id"],
        title=row["title"],
        amount=row["amount"],
        currency=row["currency"],
        pipeline_id=row["pipeline_id"],
        stage_id=row["stage_id"],
        expected_close_date=row["expected_close_date"],
        lost_reason=row["lost_reason"],
        owner_id=row["owner_id"],
        company_id=row["company_id"],
        stage_name=row["stage_name"],
        stage_kind=row["stage_kind"],
        position=row["position"],
        version=row["version"],
        owner_name=row["owner_name"],
        company_name=row["company_name"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        next_activity=None
        if next_title is None
        else NextActivity(
            kind=row["next_kind"],
            title=next_title,
            due_at=row["next_due_at"],
            due_date=row["next_due_date"],
            overdue=bool(row["next_overdue"]),
        ),
    )


async def deal_card(conn: asyncpg.Connection, deal_id: UUID) -> DealCard | None:
    """One deal as its card (stage, owner and company names joined), or None."""
    row = await conn.fetchrow(CARD_SELECT + " where d.id = $1", deal_id)
    return None if row is None else card_from_row(row)


SORTS: dict[str, SortSpec] = {
    "newest": SortSpec("Newest first", ("d.created_at", "d.id"), ("ts", "uuid"), True),
    "title": SortSpec("Title A-Z", ("lower(d.title)", "d.id"), ("text", "uuid")),
    "amount": SortSpec("Largest amount", ("d.amount", "d.id"), ("decimal", "uuid"), True),
    "close": SortSpec(
        "Closing soonest",
        ("coalesce(d.expected_close_date, 'infinity'::date)", "d.id"),
        ("date", "uuid"),
    ),
}


async def deal_page(
    conn: asyncpg.Connection, query: str, sort: str, cursor: str, limit: int
) -> DealPage:
    """A keyset page of cards whose title or company contains `query` (already tidied), in
    the `sort` order (newest when unknown), after `cursor`."""
    spec = SORTS.get(sort, SORTS["newest"])
    params = Params()
    where: list[str] = []
    if query:
        pattern = params.add(like_pattern(query))
        where.append(f"(lower(d.title) like {pattern} or lower(d.company_name) like {pattern})")
    page = await keyset_page(
        conn,
        select="d.*",
        from_sql=f"({CARD_SELECT}) d",  # the card's columns, the names the sorts use
        where=where,
        params=params,
        spec=spec,
        after=cursor or None,
        limit=limit,
    )
    return DealPage(deals=[card_from_row(r) for r in page.rows], next_cursor=page.next_cursor)


# SQL: a contact `c` as a deal names it (its id and name, "(no name)" for a nameless one),
# and the order contacts are listed in (last then first name)
_CONTACT_NAME = "coalesce(nullif(trim(c.first_name || ' ' || c.last_name), ''), '(no name)')"
_CONTACT_REF = f"c.id, {_CONTACT_NAME} as name"
_BY_NAME = "order by lower(c.last_name), lower(c.first_name), c.id"
_DEAL_CONTACTS = (
    "from deal_contacts dc join contacts c on c.id = dc.contact_id where dc.deal_id = d.id"
)
# a deal as its edit form shows it, in one statement: its card, its contacts (by name) and its
# custom values (as text, decoded by app/crm/custom_fields.stored_values)
FORM_SELECT = (
    CARD_COLUMNS
    + f""",
       d.custom_values::text as custom_values,
       array(select c.id {_DEAL_CONTACTS} {_BY_NAME}) as contact_ids,
       array(select {_CONTACT_NAME} {_DEAL_CONTACTS} {_BY_NAME}) as contact_names"""
    + CARD_FROM
    + " where d.id = $1"
)


async def deal_contact_refs(conn: asyncpg.Connection, deal_id: UUID) -> list[ContactRef]:
    """The contacts of a deal, by name."""
    return await fetch_as(
        conn,
        ContactRef,
        f"select {_CONTACT_REF} from deal_contacts dc join contacts c on c.id = dc.contact_id"
        f" where dc.deal_id = $1 {_BY_NAME}",
        deal_id,
    )


async def deal_form_row(
    conn: asyncpg.Connection, deal_id: UUID
) -> tuple[DealDetail, str | None] | None:
    """A deal as its edit form shows it (its contacts by name) and its custom values as
    stored (jsonb text), or None."""
    row = await conn.fetchrow(FORM_SELECT, deal_id)
    if row is None:
        return None
    contacts = [
        ContactRef(i, n) for i, n in zip(row["contact_ids"], row["contact_names"], strict=True)
    ]
    return DealDetail(card=card_from_row(row), contacts=contacts), row["custom_values"]


async def contact_choices(conn: asyncpg.Connection, ids: list[UUID]) -> Choices:
    """The contacts `ids` (a form's chosen ones), by name."""
    return await fetch_choices(
        conn, f"select {_CONTACT_REF} from contacts c where c.id = any($1::uuid[]) {_BY_NAME}", ids
    )


async def stage_choices(conn: asyncpg.Connection) -> list[StageChoice]:
    """Every stage of every pipeline in board order (the pipelines', then each one's), with
    its pipeline's name: the deal form's stage picker, in one statement."""
    rows = await conn.fetch(
        "select s.id, s.pipeline_id, p.name as pipeline_name, s.name, s.kind"
        " from stages s join pipelines p on p.id = s.pipeline_id"
        " order by p.position, p.created_at, p.id, s.position, s.created_at, s.id"
    )
    # built field by field, not converted: the columns have the struct's types already
    return [StageChoice(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def create_default_pipeline(
    conn: asyncpg.Connection, pipeline_id: UUID, tenant_id: UUID, name: str
) -> bool:
    """Insert the tenant's default pipeline unless one exists (the partial unique index on
    `tenant_id where is_default` decides, so two racing requests make one); True if made."""
    return await answers(
        conn,
        "insert into pipelines (id, tenant_id, name, position, is_default)"
        " values ($1, $2, $3, 0, true)"
        " on conflict (tenant_id) where is_default do nothing returning id",
        pipeline_id,
        tenant_id,
        name,
    )


async def lock_board(conn: asyncpg.Connection, pipeline_id: UUID) -> None:
    """Serialise board moves of one pipeline until the transaction ends (the pipeline row,
    FOR NO KEY UPDATE: deals' foreign-key checks are not blocked), so a move's own read of
    its columns sees every move committed before it."""
    await conn.execute("select 1 from pipelines where id = $1 for no key update", pipeline_id)


DEFAULT_STALE_DAYS = 14  # a pipeline without its own limit


async def fetch_columns(
    conn: asyncpg.Connection, pipeline_id: UUID, only: Sequence[UUID] | None = None
) -> list[Column]:
    """The pipeline's stages (or just `only`) with their cards in board order: one statement
    (BOARD), its first row carrying the board's head."""
    rows = await conn.fetch(BOARD, pipeline_id, None if only is None else list(only))
    head = rows[0]
    stages = [StageInfo(*stage) for stage in head["stages"] or []]
    if not stages:
        return []
    stale_days = DEFAULT_STALE_DAYS if head["stale_days"] is None else int(head["stale_days"])
    rates = Rates(
        currency=head["default_currency"] or "EUR",
        rates=dict(zip(head["currencies"] or [], head["rates"] or [], strict=True)),
    )
    stale: dict[UUID, int] = {}
    by_stage: dict[UUID, list[DealCard]] = {s.id: [] for s in stages}
    for row in rows:
        cards = by_stage.get(row["stage_id"])  # None: the head's own row on a board without
        if cards is None:  # cards, or a card of an `only` stage that is not the pipeline's
            continue
        cards.append(card_from_row(row))
        if row["idle_days"] is not None:
            stale[row["id"]] = int(row["idle_days"])
    return [stage_column(s, by_stage[s.id], rates, stale, stale_days) for s in stages]


# The stages `s` a board read shows: the pipeline $1's, or only those of $2 when it is not NULL.
_SHOWN = "s.pipeline_id = $1 and ($2::uuid[] is null or s.id = any($2::uuid[]))"
# A board's head in one row: its stages in board order (by position, then age, then id: a stable
# order; each in StageInfo's field order), its stale limit and the workspace's currency (NULL
# when the pipeline is gone), with the rates to it (the two arrays aggregated together, in the
# same order).
BOARD_HEAD = f"""
select st.stages, p.stale_days, p.default_currency, r.currencies, r.rates
from (select array_agg(currency) as currencies, array_agg(rate) as rates from exchange_rates) r
cross join (
  select array_agg(
    row(s.id, s.pipeline_id, s.name, s.position, s.kind, s.version, s.probability)
    order by s.position, s.created_at, s.id
  ) as stages
  from stages s where {_SHOWN}
) st
left join (
  select p.stale_days, t.default_currency
  from pipelines p join tenants t on t.id = p.tenant_id where p.id = $1
) p on true
"""
# The cards of those stages (of $2 as given: a card of a stage that is not the pipeline's is
# left out by `fetch_columns`, as the head does not name it); an open one untouched (no move or
# edit, note, task or logged activity) for the pipeline's stale limit or more has its whole days
# untouched (NULL otherwise). Only a card whose own row is that old is looked up in its notes,
# tasks and activities (the newest of them can only make it younger). (`offset 0` keeps the
# lateral a subquery: pulled up, its three lookups would be computed twice per card, once for
# the test and once for the days.) The stage ids are a value (`any(...)`), not a join: the
# planner then reads each stage's cards by the index on (tenant_id, stage_id, ...).
_SHOWN_IDS = f"coalesce($2::uuid[], array(select s.id from stages s where {_SHOWN}))"
_DAYS = (
    f"make_interval(days => coalesce((select stale_days from pipelines where id = $1),"
    f" {DEFAULT_STALE_DAYS}))"
)
BOARD_CARDS = f"""
select c.*, case when x.touched <= now() - {_DAYS}
                 then extract(day from now() - x.touched)::int end as idle_days
from ({CARD_SELECT} where d.stage_id = any({_SHOWN_IDS})) c
cross join lateral (
  select case when c.stage_kind = 'open' and c.updated_at <= now() - {_DAYS}
  then greatest(
    c.updated_at,
    (select max(a.created_at) from activities a
      where a.subject_type = 'deal' and a.subject_id = c.id),
    (select max(n.updated_at) from notes n where n.subject_type = 'deal' and n.subject_id = c.id),
    (select max(t.updated_at) from tasks t where t.subject_type = 'deal' and t.subject_id = c.id)
  ) end as touched
  offset 0
) x
"""
# A board in one read: its cards in board order, each row also carrying the head's columns;
# the head's arrays only in the first row (a board without cards: one row, the head alone), so
# a 200-card board decodes its stages and rates once.
_FIRST = "row_number() over (order by c.position, c.id) = 1"
BOARD = f"""
select case when {_FIRST} then h.stages end as stages, h.stale_days, h.default_currency,
       case when {_FIRST} then h.currencies end as currencies,
       case when {_FIRST} then h.rates end as rates, c.*
from ({BOARD_HEAD}) h
left join ({BOARD_CARDS}) c on true
order by c.position, c.id
"""


# ---- the deals table (/deals/list): a pipeline's deals, filtered, with totals --------------

DEAL_FROM = (
    "deals d join stages s on s.id = d.stage_id"
    " left join users u on u.id = d.owner_id"
    " left join companies c on c.id = d.company_id"
)
DEAL_ROW = (
    "d.id, d.title, d.amount, d.currency, d.stage_id, s.name as stage_name,"
    " s.kind as stage_kind, d.owner_id, u.name as owner_name, d.company_id,"
    " c.name as company_name, d.expected_close_date, d.created_at, d.updated_at"
)


def _table_where(tenant_id: UUID, pipeline_id: UUID, view: DealView) -> tuple[list[str], Params]:
    params = Params()
    where = deal_where(view, params, tenant_id)
    where.insert(1, f"d.pipeline_id = {params.add(pipeline_id)}")
    where += deal_search(params, " ".join(view.q.split())[:200], tenant_id)
    return where, params


async def deal_table(
    conn: asyncpg.Connection, tenant_id: UUID, pipeline_id: UUID, view: DealView, window: Window
) -> DealTable:
    """One page of the pipeline's deals that `view` shows, and the totals per currency of
    every deal in the view (not only the page), from the same conditions."""
    where, params = _table_where(tenant_id, pipeline_id, view)
    totals = await fetch_as(
        conn,
        CurrencyTotal,
        f"select d.currency, count(*) as deals, sum(d.amount) as amount from {DEAL_FROM}"
        f" where {' and '.join(where)} group by d.currency order by d.currency",
        *params.values,
    )
    page = await window_page(
        conn, window, select=DEAL_ROW, from_sql=DEAL_FROM, where=where, params=params
    )
    return DealTable(
        rows=[row_as(DealRow, r) for r in page.rows],
        totals=totals,
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
    )
