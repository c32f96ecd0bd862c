"""What every API resource shares: filtered keyset lists (q, owner, updated_since, sort,
cursor), one record by id, the version an update names (If-Match or `version`), and a JSON
body as the input of the pages' form Structs.

Reads run inside the caller's tenant transaction (RLS: another workspace's ids are simply not
there, so they answer 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar.params import Parameter

from app.accounts.schemas import Current
from app.api.conformance import STORABLE
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Invalid, clean_text
from app.core.http_types import Req
from app.core.paging import Page, Params, SortSpec, keyset_page, like_pattern

Sort = Literal["-updated_at", "updated_at", "-created_at", "created_at"]
SORTS: dict[str, SortSpec] = {
    "-updated_at": SortSpec("Last changed", ("r.updated_at", "r.id"), ("ts", "uuid"), True),
    "updated_at": SortSpec("First changed", ("r.updated_at", "r.id"), ("ts", "uuid")),
    "-created_at": SortSpec("Newest", ("r.created_at", "r.id"), ("ts", "uuid"), True),
    "created_at": SortSpec("Oldest", ("r.created_at", "r.id"), ("ts", "uuid")),
}
MAX_LIMIT = 100
MAX_VERSION = 2**31 - 1  # versions are PostgreSQL integers
CURSOR = "^[\x21-\x7e]*$"  # the next_cursor of a page: printable ASCII
VERSION_NEEDED = "Send the record's version: an If-Match header or a `version` field."


@dataclass(frozen=True)
class Listing:
    """One resource's list: its table as `r` (and joins), the columns, the searched text and
    the column `owner` filters on."""

    from_sql: str
    select: str
    search: str
    owner: str


@dataclass(frozen=True)
class Filters:
    q: str = ""
    owner: UUID | None = None
    updated_since: datetime | None = None
    sort: str = "-updated_at"
    cursor: str = ""
    limit: int = 50


def _where(current: Current, listing: Listing, flt: Filters, params: Params) -> list[str]:
    query = flt.q.strip()[:200]
    # each condition with its value; a filter not given (None) adds none
    conditions: list[tuple[str, object]] = [
        ("r.tenant_id =", current.tenant_id),
        (f"lower({listing.search}) like", like_pattern(query) if query else None),
        (f"{listing.owner} =", flt.owner),
        ("r.updated_at >=", flt.updated_since),
    ]
    return [f"{sql} {params.add(value)}" for sql, value in conditions if value is not None]


async def list_page(current: Current, listing: Listing, flt: Filters) -> Page:
    """One page of a resource's records, filtered and sorted."""
    params = Params()
    where = _where(current, listing, flt, params)
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        return await keyset_page(
            conn,
            select=listing.select,
            from_sql=listing.from_sql,
            where=where,
            params=params,
            spec=SORTS.get(flt.sort, SORTS["-updated_at"]),
            after=flt.cursor or None,
            limit=max(1, min(flt.limit, MAX_LIMIT)),
        )


async def one_row(current: Current, listing: Listing, record_id: UUID) -> dict[str, object]:
    """One record of this workspace by id (RecordNotFound: 404)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow(
            f"select {listing.select} from {listing.from_sql} where r.id = $1", record_id
        )
    if row is None:
        raise RecordNotFound(listing.from_sql)
    return dict(row.items())


def version_of(request: Req, sent: object) -> int:
    """The version an update or delete was made from: `If-Match` (an ETag we sent, "3") or
    the body's `version`; 422 when neither is there or it isn't one of ours."""
    header = request.headers.get("if-match", "").strip()
    if header:
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit() or len(tag) > 9:
            raise FormInvalid({"version": 'If-Match must be the record\'s ETag, like "3".'})
        sent = int(tag)
    if not isinstance(sent, int) or isinstance(sent, bool):
        raise FormInvalid({"version": VERSION_NEEDED})
    if not 1 <= sent <= MAX_VERSION:
        raise FormInvalid({"version": "That is not a version of this record."})
    return sent


def form_source(values: Mapping[str, object]) -> dict[str, object]:
    """JSON values as the pages' forms read them (text, or lists of text; None as empty)."""

    def text(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, UUID | Decimal | int | float):
            return str(value)
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    return {k: text(v) for k, v in values.items() if v is not msgspec.UNSET}


def sent_fields(body: msgspec.Struct) -> dict[str, object]:
    """The fields a request body set (left-out fields are UNSET and keep their value)."""
    return {k: v for k, v in msgspec.structs.asdict(body).items() if v is not msgspec.UNSET}


def merged(
    before: Mapping[str, object], body: msgspec.Struct, fields: tuple[str, ...]
) -> dict[str, object]:
    """The record's `fields` as they are, with the body's changes on top (a partial update)."""
    sent = sent_fields(body)
    return {f: sent.get(f, before.get(f)) for f in fields}


async def provide_filters(
    q: Annotated[str, Parameter(max_length=200, pattern=STORABLE)] = "",
    owner: UUID | None = None,
    updated_since: datetime | None = None,
    sort: Sort = "-updated_at",
    cursor: Annotated[str, Parameter(max_length=500, pattern=CURSOR)] = "",
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> Filters:
    """The list parameters every resource takes (the `filters` dependency)."""
    try:
        query = clean_text(q, "the search")[:200]  # no NUL or control characters (422)
    except Invalid as exc:
        raise FormInvalid({"q": exc.message}) from exc
    return Filters(query, owner, updated_since, sort, cursor[:500], limit)
