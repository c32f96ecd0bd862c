"""Route helpers shared by the CRM pages: form values and list query args."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request

Req = Request[Any, Any, Any]


async def form_values(request: Req) -> dict[str, str]:
    """The submitted form's text fields (files are ignored here)."""
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def list_url(base: str, q: str, sort: str, **cursor: str | None) -> str:
    """A list page's URL with its search, sort and cursor (empty ones left out)."""
    params = {"q": q, "sort": sort, **{k: c for k, c in cursor.items() if c}}
    return f"{base}?{urlencode({k: val for k, val in params.items() if val})}"


def list_context(base: str, page: Any, q: str, sort: str, sorts: Any) -> dict[str, Any]:
    """What a searchable, sortable, keyset-paginated list page renders."""
    return {
        "page": page,
        "q": q,
        "sort": sort if sort in sorts else "name",
        "sorts": sorts,
        "next_url": list_url(base, q, sort, after=page.next_cursor) if page.next_cursor else None,
        "prev_url": list_url(base, q, sort, before=page.prev_cursor) if page.prev_cursor else None,
    }
