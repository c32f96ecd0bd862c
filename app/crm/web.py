"""Route helpers shared by the CRM pages: list URLs, the delete page."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from litestar import Response

from app.core.errors import FormInvalid
from app.core.http_types import Req
from app.core.paging import Page
from app.core.web import render


def list_url(base: str, q: str, sort: str, **cursor: str | None) -> str:
    """A list page's URL with its search, sort and cursor (empty ones left out)."""
    params = {"q": q, "sort": sort, **{k: c for k, c in cursor.items() if c}}
    return f"{base}?{urlencode({k: val for k, val in params.items() if val})}"


def list_context(
    base: str, page: Page, q: str, sort: str, sorts: Mapping[str, object]
) -> dict[str, object]:
    """What a searchable, sortable, keyset-paginated list page renders."""
    return {
        "page": page,
        "q": q,
        "sort": sort if sort in sorts else "name",
        "sorts": sorts,
        "next_url": list_url(base, q, sort, after=page.next_cursor) if page.next_cursor else None,
        "prev_url": list_url(base, q, sort, before=page.prev_cursor) if page.prev_cursor else None,
    }


def confirm_delete_page(
    request: Req,
    kind: str,
    name: str,
    link: str,
    version: int,
    consequence: str,
    refused: FormInvalid | None = None,
) -> Response[str]:
    """ "Delete this record?" for the version shown; asked again (with why) when refused."""
    ctx = {
        "kind": kind,
        "name": name,
        "version": version,
        "errors": refused.errors if refused else {},
        "action": f"{link}/delete",
        "back": link,
        "consequence": consequence,
    }
    return render(request, "crm/confirm_delete.html", ctx)
