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


def gram_candidates(params: Params, tenant: str, kind: str, query: str) -> str:
    """A subquery of the ids of the `kind` records (contact, company, deal) of the tenant
    (the SQL parameter `tenant`) holding every piece of `query` (which must have grams).
    The pieces are counted once (a sub-select): a generic plan of the prepared statement would
    otherwise call `search_grams_of` again for every candidate record (54 ms for 3,000)."""
    q = params.add(query.lower())
    return (
        f"select g.record_id from search_grams g where g.tenant_id = {tenant}"
        f" and g.kind = '{kind}' and g.gram = any(search_grams_of({q}))"
        f" group by g.record_id having count(*) = (select cardinality(search_grams_of({q})))"
    )


def gram_filter(params: Params, tenant: str, kind: str, alias: str, query: str) -> str:
    """The condition that `alias`.id holds every piece of `query`, as an array the planner
    reads once and looks up in the primary key (`in (subquery)` may instead walk a list's sort
    index filtering each row through the subquery's hash). With sharing `params` the array is
    a CTE of the statement: a list page and its count look the pieces up once."""
    found = f"array({gram_candidates(params, tenant, kind, query)})"
    shared = params.share(f"select {found} as ids")
    return f"{alias}.id = any({f'(select ids from {shared})::uuid[]' if shared else found})"
