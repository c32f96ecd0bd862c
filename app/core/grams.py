"""Substring search through `search_grams` (migrations/search), the one home of its SQL.

Under row-level security PostgreSQL uses an index only for LEAKPROOF operators: LIKE never
drives one, so `lower(x) like '%q%'` walks every row of the workspace. `search_grams` keeps the
three-character pieces of each record's words, looked up with `=` (leakproof) on its btree; a
query holding a word of three letters or digits narrows to the records holding all of its
pieces, and the caller rechecks its exact LIKE on those few."""

from __future__ import annotations

import re

from app.core.paging import Params

WORD = re.compile(r"[^\W_]{3,}")


def has_grams(text: str) -> bool:
    """Has `text` a word of three letters or digits (so `search_grams` can narrow it)?"""
    return WORD.search(text) is not None


# how many of a query's pieces narrow the records: the rarest ones in the workspace. Any
# subset of the pieces is exact, since every caller rechecks its LIKE on the records found;
# two of them leave few candidates beyond the matches
PIECES_USED = 2
# a piece's postings are counted up to this many to find the rarest (a common piece is not
# read whole only to be left out)
RARITY_CAP = 500


def tenant_is(column: str, tenant: str) -> str:
    """`column` is the tenant's (the SQL parameter `tenant`) as a condition of the index scan
    alone. Under RLS a plain `column = $n` and the policy's `tenant_id = (select ...)` form
    one equivalence class, and PostgreSQL then checks the two are equal in a Result node
    that every row of the scan passes through (~11 ns a row: a count of a piece's 100k
    postings took 10.2 ms under RLS against 8.9 ms without; the cost of RLS on a search's
    rarity counts and postings). Written as `= any(...)`, both are keys of the index scan
    and the rows pass through no other node (8.9 ms under RLS)."""
    return f"{column} = any(array[{tenant}::uuid])"


def rarest_pieces(params: Params, tenant: str, kind: str, query: str) -> str:
    """The SQL of the array of the PIECES_USED rarest pieces of `query` among the tenant's
    `kind` records (all of them when it has no more), each piece's postings counted up to
    RARITY_CAP; ties by the piece."""
    q = params.add(query.lower())
    capped = (
        f"(select count(*) from (select from search_grams r"
        f" where {tenant_is('r.tenant_id', tenant)} and r.kind = '{kind}' and r.gram = p.gram"
        f" limit {RARITY_CAP}) as capped)"
    )
    rarest = (
        f"array(select p.gram from unnest(q.pieces) as p(gram) order by {capped}, p.gram"
        f" limit {PIECES_USED})"
    )
    return (
        f"(select case when cardinality(q.pieces) <= {PIECES_USED} then q.pieces"
        f" else {rarest} end from (select search_grams_of({q}) as pieces) as q)"
    )


def gram_candidates(params: Params, tenant: str, kind: str, query: str) -> str:
    """A subquery of the ids of the `kind` records (contact, company, deal) of the tenant
    (the SQL parameter `tenant`) holding the PIECES_USED rarest pieces of `query` (which
    must have grams): a superset of the records holding all of them, so callers recheck
    their LIKE (all do). The rarest are found by counting each piece's postings up to
    RARITY_CAP: "müller" reads 435 + 435 postings of "mül" and "üll" and a capped count of
    "lle" and "ler", instead of aggregating all 5,242 of the four (P7: 1.27 -> 0.75 ms).
    The pieces are picked once (a materialized CTE): a generic plan of the prepared
    statement would otherwise compute them again per candidate record."""
    picked = (
        f"_pieces as materialized (select {rarest_pieces(params, tenant, kind, query)} as grams)"
    )
    return (
        f"with {picked} select g.record_id from search_grams g"
        f" where {tenant_is('g.tenant_id', tenant)} and g.kind = '{kind}'"
        f" and g.gram = any((select grams from _pieces)::text[])"
        f" group by g.record_id having count(*) = (select cardinality(grams) from _pieces)"
    )


def gram_filter(params: Params, tenant: str, kind: str, alias: str, query: str) -> str:
    """The condition that `alias`.id holds every piece of `query`, as an array the planner
    reads once and looks up in the primary key (`in (subquery)` may instead walk a list's sort
    index filtering each row through the subquery's hash). With sharing `params` the array is
    a CTE of the statement: a list page and its count look the pieces up once."""
    found = f"array({gram_candidates(params, tenant, kind, query)})"
    shared = params.share(f"select {found} as ids")
    return f"{alias}.id = any({f'(select ids from {shared})::uuid[]' if shared else found})"
