"""The contact and company lists' SQL: keyset pages of a filtered view, and how many it holds
(the unfiltered list's count is the workspace's record count, kept by triggers in
`record_counts`; a filtered one is counted, up to a cap), both in one statement. Call inside
the caller's tenant transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from app.core.grams import has_grams
from app.core.paging import Page, Params, Window, window_page
from app.crm.filters import (
    CompanyView,
    ContactView,
    common_where,
    company_search,
    contact_search,
    contact_where,
    is_filtered,
)

COUNT_CAP = 10_000
# A search through the grams runs its statements' generic plans, kept by the connection's
# statement cache, instead of planning them again on each page. Their plans are driven by the
# array of candidate ids the grams give, which neither kind of plan can see into, so the
# generic plan is the custom one without its planning: 0.6 ms a page against 1.1-1.2 ms for
# a search in a workspace of 100k contacts, and under RLS the policies' sub-selects are
# planned once, not on every page (tests/perf/test_rls_bench.py). Only the search's
# statements: a generic plan of a filter without a search can be far off for a small
# workspace beside a large one (a tag filter took 68 ms against 1.3 ms planned for its
# value), so the transaction goes back to PostgreSQL's usual choice after them.
GENERIC_PLAN = "set local plan_cache_mode = force_generic_plan"
PLAN_AS_USUAL = "set local plan_cache_mode to default"
COMPANY_FROM = "companies c left join users u on u.id = c.owner_id"
CONTACT_FROM = (
    "contacts c left join companies co on co.id = c.company_id"
    " left join users u on u.id = c.owner_id"
)


async def record_counts(conn: asyncpg.Connection, tenant_id: UUID) -> dict[str, int]:
    """How many records of each kind (contact, company) the workspace holds (0 for a kind
    it never had): one indexed row each, not a count of every record."""
    rows = await conn.fetch("select kind, total from record_counts where tenant_id = $1", tenant_id)
    counts = {"contact": 0, "company": 0}
    counts.update({row["kind"]: int(row["total"]) for row in rows})
    return counts


def _view_total(
    kind: str, tenant_id: UUID, filtered: bool, count_view: tuple[str, list[str], Params]
) -> str:
    """The scalar SQL of how many the list holds: the workspace's record count (kept by
    triggers in `record_counts`) for the whole list, else the view's rows counted up to
    COUNT_CAP + 1 (shown as "10,000+": a count of every one of 100k contacts costs a scan of
    them all on each page, the page itself reads 51 rows by an index)."""
    from_sql, where, params = count_view
    if not filtered:
        tenant, which = params.add(tenant_id), params.add(kind)
        return (
            f"coalesce((select r.total from record_counts r where r.tenant_id = {tenant}"
            f" and r.kind = {which}), 0)"
        )
    limit = params.add(COUNT_CAP + 1)
    return (
        f"(select count(*) from (select 1 from {from_sql} where {' and '.join(where)}"
        f" limit {limit}) as counted)"
    )


async def _counted_page(
    conn: asyncpg.Connection,
    window: Window,
    select: str,
    view: tuple[str, list[str], Params],
    kind: str,
    tenant_id: UUID,
    filtered: bool,
    query: str,
) -> Page:
    """The page, with `extra["count"]` how many the view holds, computed by its own statement
    (no round trip of its own; with sharing Params a search's pieces are looked up once for
    both). A searched page sorts every match: its rows are picked by key first and only those
    51 read whole with their joins (`window_page`'s `narrow`); a search through the grams
    counts its matches as it orders them, on every page (`count_all`: read once, not once for
    the count and again for the page). A page after a cursor that came back empty (its rows
    deleted meanwhile) has the count computed alone. The whole (not `filtered`) list's count
    is the kept record count, exact however large; a view's is capped."""
    from_sql, where, params = view
    shared = (list(params.values), list(params.ctes or ()))  # the view's, before the page's
    count_all = bool(query) and has_grams(query)
    total = None if count_all else _view_total(kind, tenant_id, filtered, view)
    if count_all:
        await conn.execute(GENERIC_PLAN)
    page = await window_page(
        conn,
        window,
        select=select,
        from_sql=from_sql,
        where=where,
        params=params,
        total=total,
        narrow="c.id" if query else None,
        count_all=count_all,
    )
    found = page.extra.pop("total")
    if found is None and (window.after or window.before):
        alone = Params(sharing=True)
        alone.values, alone.ctes = list(shared[0]), list(shared[1])
        total = _view_total(kind, tenant_id, filtered, (from_sql, where, alone))
        found = await conn.fetchval(f"{alone.prefix()}select {total}", *alone.values)
    if count_all:
        await conn.execute(PLAN_AS_USUAL)
    count = int(found or 0)  # type: ignore[call-overload]
    page.extra["count"] = min(count, COUNT_CAP + 1) if filtered else count
    return page


def company_conditions(params: Params, tenant_id: UUID, query: str, view: CompanyView) -> list[str]:
    """The company list's conditions (on `c`) for `view` searched by `query`, their values
    added to `params` (the list's pages, a bulk change's selection)."""
    return common_where(view, params, "c", tenant_id) + company_search(params, query, tenant_id)


def contact_conditions(
    params: Params, tenant_id: UUID, query: str, indexes: list[str], view: ContactView
) -> list[str]:
    """The contact list's conditions (on `c`) for `view` searched by `query` (an exact email
    or phone number by its blind `indexes`), their values added to `params`."""
    where = contact_where(view, params, tenant_id)
    if query:
        where.append(contact_search(params, query, indexes, tenant_id))
    return where


async def company_page(
    conn: asyncpg.Connection, tenant_id: UUID, query: str, window: Window, view: CompanyView
) -> Page:
    """One page of the company list, `query` matching name or domain, filtered by `view`;
    `extra["count"]`: how many the whole view holds."""
    params = Params(sharing=True)
    where = company_conditions(params, tenant_id, query, view)
    filtered = bool(query) or is_filtered(view)
    view_sql = (COMPANY_FROM, where, params)
    select = "c.id, c.name, c.domain, c.industry, c.size, u.name as owner_name"
    return await _counted_page(
        conn, window, select, view_sql, "company", tenant_id, filtered, query
    )


async def contact_page(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    query: str,
    indexes: list[str],
    company_id: UUID | None,
    window: Window,
    view: ContactView,
) -> Page:
    """One page of the contact list (rows still sealed, the first email address only: what
    the list shows; no phone numbers): names and title by substring (at
    their start for a query shorter than three letters), an exact email or phone number by
    its blind `indexes`, optionally one company's only, filtered by `view`;
    `extra["count"]`: how many the whole view holds."""
    params = Params(sharing=True)
    where = contact_conditions(params, tenant_id, query, indexes, view)
    if company_id is not None:
        where.append(f"c.company_id = {params.add(company_id)}")
    filtered = bool(query) or company_id is not None or is_filtered(view)
    view_sql = (CONTACT_FROM, where, params)
    select = (
        "c.id, c.first_name, c.last_name, c.emails_enc[1:1] as emails_enc, c.title, c.tags,"
        " c.company_id, co.name as company_name, u.name as owner_name"
    )
    return await _counted_page(
        conn, window, select, view_sql, "contact", tenant_id, filtered, query
    )


async def company_contacts_page(
    conn: asyncpg.Connection, tenant_id: UUID, company_id: UUID, window: Window
) -> Page:
    """One page of a company's contacts as its page lists them (name, title, first email
    still sealed): no count (the page says only whether there are more), no joins."""
    params = Params()
    where = [f"c.tenant_id = {params.add(tenant_id)}", f"c.company_id = {params.add(company_id)}"]
    return await window_page(
        conn,
        window,
        select="c.id, c.first_name, c.last_name, c.title, c.emails_enc[1:1] as emails_enc",
        from_sql="contacts c",
        where=where,
        params=params,
    )
