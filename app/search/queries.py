"""The search's SQL: one ranked query per record type, run inside the caller's tenant
transaction (RLS sees the workspace's rows only; each query also names `tenant_id`).

A substring is found through `search_grams` (migrations/search): the records holding every
three-character piece of the query's words, looked up with `=` (leakproof, so PostgreSQL uses
the index under RLS, which it never does for LIKE), then LIKE rechecked on those few. A query
with no word of three characters scans the workspace's rows.

Rank: 0 an exact email or phone number (blind index), 1 the whole name, 2 the name's start,
3 a word's start, 4 anywhere in it; then trigram similarity, then the name's order. Each row
carries `total`, the count of all matches (window count before the limit)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from app.core.grams import gram_filter, has_grams
from app.core.paging import Params
from app.core.rows import rows_as
from app.crm.contact_keys import has_key


class Pattern(msgspec.Struct, frozen=True):
    """A query lower-cased, and its LIKE patterns with LIKE's wildcards escaped."""

    text: str  # lower-cased
    anywhere: str  # %q%
    start: str  # q%
    word: str  # % q%

    @classmethod
    def of(cls, query: str) -> Pattern:
        text = query.lower()
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cls(text, f"%{escaped}%", f"{escaped}%", f"% {escaped}%")


def _grams(alias: str, kind: str, tenant: str, params: Params, p: Pattern) -> str:
    """`alias`.id among the `kind` records holding every piece of the query (when it has any)."""
    if not has_grams(p.text):
        return "true"
    return gram_filter(params, tenant, kind, alias, p.text)


def _rank(expr: str, params: Params, p: Pattern) -> str:
    """1 the whole of `expr` (lower-case text), 2 its start, 3 a word's start, else 4."""
    return (
        f"case when {expr} = {params.add(p.text)} then 1"
        f" when {expr} like {params.add(p.start)} then 2"
        f" when ' ' || {expr} like {params.add(p.word)} then 3 else 4 end"
    )


def _ranked(params: Params, select: str, source: str, where: str, order: str, limit: int) -> str:
    """One ranked search: `select` (with its `rank`) and the count of every match, best
    `limit` first."""
    return (
        f"select {select}, count(*) over () as total from {source} where {where}"
        f" order by rank, {order} limit {params.add(limit)}"
    )


class Found(msgspec.Struct, frozen=True):
    """What every search row carries: its rank and the count of all matches."""

    rank: int
    total: int


class InvoiceHit(Found, frozen=True):
    id: UUID
    number: int
    status: str
    currency: str
    total_amount: Decimal
    company_name: str | None


class Searched(msgspec.Struct, frozen=True):
    """A record type found by the text of one expression (`text`, lower-case), ranked by the
    best of `ranked` (lower-case expressions), then similarity to `named`, then `order`."""

    kind: str  # search_grams.kind
    alias: str
    select: str
    source: str
    text: str
    ranked: tuple[str, ...]
    named: str
    order: str


COMPANIES = Searched(
    "company",
    "c",
    "c.id, c.name, c.domain",
    "companies c",
    "lower(c.name || ' ' || coalesce(c.domain, ''))",
    ("lower(c.name)", "lower(coalesce(c.domain, ''))"),
    "lower(c.name)",
    "c.sort_name, c.id",
)
DEALS = Searched(
    "deal",
    "d",
    "d.id, d.title, d.amount, d.currency, s.name as stage_name, co.name as company_name",
    "deals d left join stages s on s.id = d.stage_id"
    " left join companies co on co.id = d.company_id",
    "lower(d.title)",
    ("lower(d.title)",),
    "lower(d.title)",
    "lower(d.title), d.id",
)


async def _by_text(
    conn: asyncpg.Connection, spec: Searched, tenant_id: UUID, p: Pattern, limit: int
) -> list[asyncpg.Record]:
    params = Params()
    tenant = params.add(tenant_id)
    ranks = ", ".join(_rank(expr, params, p) for expr in spec.ranked)
    sql = _ranked(
        params,
        f"{spec.select}, least({ranks}) as rank",
        spec.source,
        f"{spec.alias}.tenant_id = {tenant} and {_grams(spec.alias, spec.kind, tenant, params, p)}"
        f" and {spec.text} like {params.add(p.anywhere)}",
        f"similarity({spec.named}, {params.add(p.text)}) desc, {spec.order}",
        limit,
    )
    return list(await conn.fetch(sql, *params.values))


class ContactHit(Found, frozen=True):
    id: UUID
    first_name: str
    last_name: str
    title: str | None
    company_name: str | None


def contacts_sql(
    tenant_id: UUID, p: Pattern, indexes: list[str], domain: Pattern | None, limit: int
) -> tuple[str, list[object]]:
    """The contact search's SQL and parameters (`contacts` runs it; tests EXPLAIN it)."""
    params = Params()
    tenant = params.add(tenant_id)
    named = f"c.search_text like {params.add(p.anywhere)}"
    matches = [f"{named} and {_grams('c', 'contact', tenant, params, p)}"]
    # an exact email or phone number: by blind index in the key tables' btrees
    keyed = has_key("c", tenant, params.add(indexes)) if indexes else "false"
    if indexes:
        matches.append(keyed)
    if domain is not None:
        matches.append(
            f"c.company_id = any(array(select d.id from companies d where d.tenant_id = {tenant}"
            f" and lower(coalesce(d.domain, '')) like {params.add(domain.anywhere)}))"
        )
    name = "lower(trim(c.first_name || ' ' || c.last_name))"
    sql = _ranked(
        params,
        "c.id, c.first_name, c.last_name, c.title, co.name as company_name,"
        f" case when {keyed} then 0"
        f" else least({_rank(name, params, p)}, {_rank('c.search_text', params, p)}) end as rank",
        "contacts c left join companies co on co.id = c.company_id",
        f"c.tenant_id = {tenant} and ({' or '.join(matches)})",
        f"similarity(c.search_text, {params.add(p.text)}) desc, c.sort_last, c.sort_first, c.id",
        limit,
    )
    return sql, params.values


async def contacts(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    p: Pattern,
    indexes: list[str],
    domain: Pattern | None,
    limit: int,
) -> list[ContactHit]:
    """Contacts whose name or title holds the query, whose email or phone is exactly it (its
    blind `indexes`), or, for an email-like query, who work at a company whose web `domain`
    holds the query's domain part."""
    sql, values = contacts_sql(tenant_id, p, indexes, domain, limit)
    return rows_as(ContactHit, await conn.fetch(sql, *values))


class CompanyHit(Found, frozen=True):
    id: UUID
    name: str
    domain: str | None


async def companies(
    conn: asyncpg.Connection, tenant_id: UUID, p: Pattern, limit: int
) -> list[CompanyHit]:
    """Companies whose name or web domain holds the query."""
    return rows_as(CompanyHit, await _by_text(conn, COMPANIES, tenant_id, p, limit))


class DealHit(Found, frozen=True):
    id: UUID
    title: str
    amount: Decimal
    currency: str
    stage_name: str | None
    company_name: str | None


async def deals(conn: asyncpg.Connection, tenant_id: UUID, p: Pattern, limit: int) -> list[DealHit]:
    """Deals whose title holds the query."""
    return rows_as(DealHit, await _by_text(conn, DEALS, tenant_id, p, limit))


async def invoices(
    conn: asyncpg.Connection, tenant_id: UUID, p: Pattern, number: int | None, limit: int
) -> list[InvoiceHit]:
    """Invoices whose number as shown (INV-00042) holds the query; `number` exactly first.
    (A workspace's invoices are few enough to compare each label; no index needed.)"""
    params = Params()
    sql = _ranked(
        params,
        "i.id, i.number, i.status, i.currency, i.total as total_amount, co.name as company_name,"
        f" case when i.number = {params.add(number)}::integer then 1 else 4 end as rank",
        "invoices i left join companies co on co.id = i.company_id",
        f"i.tenant_id = {params.add(tenant_id)}"
        f" and 'inv-' || lpad(i.number::text, 5, '0') like {params.add(p.anywhere)}",
        "i.number desc",
        limit,
    )
    rows = await conn.fetch(sql, *params.values)
    return rows_as(InvoiceHit, rows)


class SealedNote(msgspec.Struct, frozen=True):
    id: UUID
    tenant_id: UUID
    subject_type: str
    subject_id: UUID
    body_enc: str
    created_at: datetime
    subject_name: str | None


# a note with its record's name (notes of any record type)
RECENT_NOTES = """
select n.id, n.tenant_id, n.subject_type, n.subject_id, n.body_enc, n.created_at,
       case n.subject_type when 'contact' then trim(ct.first_name || ' ' || ct.last_name)
            when 'company' then co.name when 'deal' then d.title end as subject_name
  from notes n
  left join contacts ct on n.subject_type = 'contact' and ct.id = n.subject_id
  left join companies co on n.subject_type = 'company' and co.id = n.subject_id
  left join deals d on n.subject_type = 'deal' and d.id = n.subject_id
 where n.tenant_id = $1
 order by n.created_at desc, n.id desc
 limit $2
"""


async def recent_notes(conn: asyncpg.Connection, tenant_id: UUID, limit: int) -> list[SealedNote]:
    """The workspace's newest `limit` notes, still sealed, with their record's name."""
    rows = await conn.fetch(RECENT_NOTES, tenant_id, limit)
    return rows_as(SealedNote, rows)


class Choice(msgspec.Struct, frozen=True):
    """A record a picker offers: its id, its label and a hint beside it."""

    id: UUID
    label: str
    detail: str | None = None
