"""The filters, sorts and URL of a list view (contacts, companies, deals), made once.

A view is everything a list page shows: its search, its filters (field, operator, value), its
order and page. It is read from the query string by a `ListView` Struct (the project's input
rules: NUL, overlong or unknown values are a 422 with a message), written back into one (the
URL holds the whole view: bookmarks and Back work, a saved view is that query string), and
turned into SQL conditions with parameters only, always led by the tenant (RLS stays the net).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from app.core.errors import FormInvalid
from app.core.forms import Amount, Choice, Cursor, Day, Form, Ref, Refs, Tags, Text, parse
from app.core.forms.fields import Source
from app.core.grams import gram_filter, has_grams
from app.core.http_types import Req
from app.core.paging import Params, SortSpec, like_pattern
from app.crm.contact_keys import has_key
from app.crm.custom_filters import ColumnKeys, CustomFilters, SortChoice, custom_where

OWNER_OPS = ("is", "is_not", "empty")
TAG_OPS = ("any", "none")
DIRECTIONS = ("asc", "desc")
MAX_AMOUNT = Decimal("999999999999.99")
# query names that are no filter but may travel with a list's URL
NOT_FILTERS = ("view", "after", "before")


class MaybeAmount(Amount):
    """An amount bound of a filter: None when left empty."""

    def read(self, values: list[str]) -> Decimal | None:  # type: ignore[override]
        if not self.one(values).strip():
            return None
        return super().read(values)


class ListView(Form, kw_only=True):
    """What every list's view holds: search, owner and date filters, order, page, the saved
    view it was opened from. The kinds add their own fields and sort columns."""

    q: Annotated[str, Text("the search", 200)] = ""
    dir: Annotated[str, Choice("the direction", DIRECTIONS, required=False)] = ""
    owner_op: Annotated[str, Choice("the owner filter", OWNER_OPS, required=False)] = ""
    owner: Annotated[UUID | None, Ref("Choose an owner from your workspace.")] = None
    created_after: Annotated[date | None, Day("the created-after date")] = None
    created_before: Annotated[date | None, Day("the created-before date")] = None
    updated_after: Annotated[date | None, Day("the updated-after date")] = None
    updated_before: Annotated[date | None, Day("the updated-before date")] = None
    after: Annotated[str, Cursor()] = ""
    before: Annotated[str, Cursor()] = ""
    view: Annotated[UUID | None, Ref("That saved view is not there.", lenient=True)] = None
    cf: Annotated[dict[str, list[str]], CustomFilters()] = {}  # app/crm/custom_filters.py
    cols: Annotated[list[str], ColumnKeys()] = []  # custom fields shown as columns
    custom_kind: ClassVar[str] = ""  # the record kind whose custom fields it filters on

    def problems(self) -> dict[str, str]:
        for field in ("created", "updated"):
            start, end = getattr(self, f"{field}_after"), getattr(self, f"{field}_before")
            if start and end and start > end:
                return {f"{field}_before": "The end date comes before the start date."}
        return {}


# "newest": the old links' name of "created"
CONTACT_SORTS = ("name", "title", "company", "owner", "created", "updated", "newest")
COMPANY_SORTS = ("name", "domain", "industry", "size", "owner", "created", "updated", "newest")
DEAL_SORTS = ("title", "amount", "stage", "owner", "company", "close", "created", "updated")


class ContactView(ListView, kw_only=True):
    custom_kind: ClassVar[str] = "contact"
    sort: Annotated[str, SortChoice("the order", CONTACT_SORTS, required=False)] = ""
    tags_op: Annotated[str, Choice("the tags filter", TAG_OPS, required=False)] = ""
    tags: Annotated[list[str], Tags()] = []

    def problems(self) -> dict[str, str]:
        return super().problems()


class CompanyView(ListView, kw_only=True):
    custom_kind: ClassVar[str] = "company"
    sort: Annotated[str, SortChoice("the order", COMPANY_SORTS, required=False)] = ""


class DealView(ListView, kw_only=True):
    custom_kind: ClassVar[str] = "deal"
    sort: Annotated[str, SortChoice("the order", DEAL_SORTS, required=False)] = ""
    pipeline: Annotated[UUID | None, Ref("Choose a pipeline.", lenient=True)] = None
    stage: Annotated[list[UUID], Refs("Choose stages from the list.", 50)] = []
    amount_min: Annotated[Decimal | None, MaybeAmount("the smallest amount", MAX_AMOUNT)] = None
    amount_max: Annotated[Decimal | None, MaybeAmount("the largest amount", MAX_AMOUNT)] = None

    def problems(self) -> dict[str, str]:
        low, high = self.amount_min, self.amount_max
        if low is not None and high is not None and low > high:
            return {"amount_max": "The largest amount is below the smallest."}
        return super().problems()


V = TypeVar("V", bound=ListView)


@functools.cache
def view_fields(schema: type[ListView]) -> tuple[msgspec.structs.FieldInfo, ...]:
    """The fields of a view Struct, read once: msgspec evaluates the annotations on every
    call (a profile of the contact list under load spent 39% of its CPU there, a list page
    asks a dozen times for its sort links and page URLs)."""
    return msgspec.structs.fields(schema)


def read_view(request: Req, schema: type[V]) -> V:
    """The view in the request's query string; an unknown field is refused (422) like a bad
    value, so a mistyped bookmark says so instead of quietly showing everything."""
    return parse_view(schema, request.query_params)


def parse_view(schema: type[V], data: Any) -> V:
    """`data` (a query string's multi-dict, a dict, or (name, value) pairs) read into the
    view `schema`; unknown names are refused."""
    source: Source = {}
    if hasattr(data, "multi_items"):
        items = data.multi_items()
    else:
        items = data.items() if isinstance(data, Mapping) else data
    for name, value in items:
        source.setdefault(str(name), []).append(str(value))
    known = {f.encode_name for f in view_fields(schema)}
    unknown = sorted(n for n in set(source) - known if not n.startswith("cf."))
    if unknown:
        name = unknown[0][:40]
        raise FormInvalid({"form": f"There is no filter “{name}”. Remove it from the address."})
    return parse(schema, (source, set()))


def view_pairs(view: ListView) -> list[tuple[str, str]]:
    """The view as query pairs (filters, search and order; no page, no saved view): the
    same view parsed back, in a stable order."""
    pairs: list[tuple[str, str]] = []
    for field in view_fields(type(view)):
        if field.name in NOT_FILTERS:
            continue
        value = getattr(view, field.name)
        if value in (None, "", []) or (field.name.endswith("_op") and not value):
            continue
        if field.name == "tags":
            pairs.append(("tags", ", ".join(value)))
        elif isinstance(value, dict):  # the custom field filters
            pairs += [(f"cf.{name}", str(v)) for name, vs in sorted(value.items()) for v in vs]
        elif isinstance(value, list):
            pairs += [(field.name, str(v)) for v in value]
        else:
            pairs.append((field.name, value.isoformat() if isinstance(value, date) else str(value)))
    return pairs


def view_query(view: ListView) -> str:
    return urlencode(view_pairs(view))


def view_url(base: str, view: ListView, **extra: str | None) -> str:
    """The list's URL for `view` (with a cursor or the saved view's id in `extra`)."""
    pairs = view_pairs(view) + [(k, v) for k, v in extra.items() if v]
    return f"{base}?{urlencode(pairs)}" if pairs else base


def is_filtered(view: ListView) -> bool:
    """Whether the view narrows the list (not only orders it)."""
    return any(name not in ("sort", "dir", "cols") for name, _ in view_pairs(view))


# ---- SQL ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A sortable column of a list: its words and the SQL expression (never null) it orders by."""

    label: str
    exprs: tuple[str, ...]
    kinds: tuple[str, ...]  # cursor kinds of app.core.paging ("text", "ts", "date", "decimal")
    descending: bool = False  # its natural direction (newest, largest first)


def sort_spec(columns: Mapping[str, Column], default: str, view: ListView, key: str) -> SortSpec:
    """The keyset order of `view`: its sort column (else the default) with `key` to break
    ties, in its direction (else the column's natural one)."""
    name = getattr(view, "sort", "") or default
    column = columns[name]
    descending = column.descending if not view.dir else view.dir == "desc"
    return SortSpec(column.label, (*column.exprs, key), (*column.kinds, "uuid"), descending)


def text_column(label: str, expr: str) -> Column:
    """A text column ordered case-blind, empty ones first."""
    return Column(label, (f"coalesce(lower({expr}), '')",), ("text",))


def time_column(label: str, expr: str) -> Column:
    """A time column, the latest first."""
    return Column(label, (expr,), ("ts",), descending=True)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def common_where(view: ListView, params: Params, alias: str, tenant_id: UUID) -> list[str]:
    """The tenant (first: the lists' indexes lead with tenant_id), owner and date conditions
    on the table `alias`, every value a parameter."""
    where = [f"{alias}.tenant_id = {params.add(tenant_id)}"]
    if view.owner_op == "is" and view.owner is not None:  # no owner chosen yet: no filter
        where.append(f"{alias}.owner_id = {params.add(view.owner)}")
    elif view.owner_op == "is_not" and view.owner is not None:
        where.append(f"{alias}.owner_id is distinct from {params.add(view.owner)}")
    elif view.owner_op == "empty":
        where.append(f"{alias}.owner_id is null")
    for field in ("created", "updated"):
        start, end = getattr(view, f"{field}_after"), getattr(view, f"{field}_before")
        if start is not None:
            where.append(f"{alias}.{field}_at >= {params.add(_start(start))}")
        if end is not None:  # through that day
            where.append(f"{alias}.{field}_at < {params.add(_start(end + timedelta(days=1)))}")
    if view.cf and view.custom_kind:
        where += custom_where(view.cf, view.custom_kind, params, alias)
    return where


def is_short_search(query: str) -> bool:
    """A search with no word of three letters or digits: the lists match it at the start of
    their name only (a substring that short would walk every record)."""
    return bool(query.strip()) and not has_grams(query)


def starts_with(params: Params, key: str, query: str) -> str:
    """`key` (a lower-cased sort column) starts with `query`: a range in the "C" collation
    (code points: exact, whatever the database's collation) on its index of that collation
    (migrations/crm; text comparisons are leakproof, so RLS lets them drive it)."""
    low = query.lower()
    following = ord(low[-1]) + 1
    following = 0xE000 if 0xD800 <= following < 0xE000 else following  # no surrogates
    upper = low[:-1] + chr(following) if following <= 0x10FFFF else ""
    where = f'{key} collate "C" >= {params.add(low)}'
    where += f' and {key} collate "C" < {params.add(upper)}' if upper else ""
    return f"({where} and starts_with({key}, {params.add(low)}))"


def text_search(
    params: Params, query: str, tenant_id: UUID, kind: str, alias: str, text: str, *keys: str
) -> str:
    """The condition that the record `alias` of `kind` matches the list search `query`: the
    lower-cased SQL `text` holds it (found through `search_grams`, then LIKE rechecked on
    those candidates), or, for a short query, one of its sort `keys` starts with it."""
    if not has_grams(query):
        return "(" + " or ".join(starts_with(params, key, query) for key in keys) + ")"
    tenant = params.add(tenant_id)
    return (
        f"({gram_filter(params, tenant, kind, alias, query)}"
        f" and {text} like {params.add(like_pattern(query))})"
    )


def contact_search(params: Params, query: str, indexes: list[str], tenant_id: UUID) -> str:
    """The contact list's search: names and title (`text_search`); an email- or phone-like
    query (it has blind `indexes`) finds an exact address or number too (the key tables'
    btrees, app/crm/contact_keys.py), and its substring in names and title (by the grams
    when it has a word of three characters, else by LIKE: a workspace scan)."""
    if not indexes:
        keys = ("c.sort_last", "c.sort_first")
        return text_search(params, query, tenant_id, "contact", "c", "c.search_text", *keys)
    if has_grams(query):
        named = text_search(params, query, tenant_id, "contact", "c", "c.search_text")
    else:
        named = f"c.search_text like {params.add(like_pattern(query))}"
    keyed = has_key("c", params.add(tenant_id), params.add(indexes))
    return f"({named} or {keyed})"


def company_search(params: Params, query: str, tenant_id: UUID) -> list[str]:
    """The company list's search: name or web domain (`text_search`)."""
    if not query:
        return []
    text = "lower(c.name || ' ' || coalesce(c.domain, ''))"
    return [text_search(params, query, tenant_id, "company", "c", text, "c.sort_name")]


def deal_search(params: Params, query: str, tenant_id: UUID) -> list[str]:
    """The deals table's search: the deal's title or its company's name (`c`) holds the
    query, through `search_grams` as `text_search`; a short query: either starts with it."""
    if not query:
        return []
    if not has_grams(query):
        low = params.add(query.lower())
        title, company = "lower(d.title)", "lower(coalesce(c.name, ''))"
        return [f"(starts_with({title}, {low}) or starts_with({company}, {low}))"]
    tenant, pattern = params.add(tenant_id), params.add(like_pattern(query))
    deal = gram_filter(params, tenant, "deal", "d", query)
    company = gram_filter(params, tenant, "company", "c", query)
    return [
        f"(({deal} and lower(d.title) like {pattern})"
        f" or ({company} and lower(c.name) like {pattern}))"
    ]


def contact_where(view: ContactView, params: Params, tenant_id: UUID) -> list[str]:
    where = common_where(view, params, "c", tenant_id)
    if view.tags_op and view.tags:
        overlap = f"c.tags && {params.add(view.tags)}::text[]"
        where.append(overlap if view.tags_op == "any" else f"not ({overlap})")
    return where


def deal_where(view: DealView, params: Params, tenant_id: UUID) -> list[str]:
    where = common_where(view, params, "d", tenant_id)
    if view.stage:
        where.append(f"d.stage_id = any({params.add(view.stage)}::uuid[])")
    if view.amount_min is not None:
        where.append(f"d.amount >= {params.add(view.amount_min)}")
    if view.amount_max is not None:
        where.append(f"d.amount <= {params.add(view.amount_max)}")
    return where
