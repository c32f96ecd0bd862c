"""Search pages (thin): /search (the page, or its results block for htmx and the Ctrl/⌘-K
dialog) and the pickers' result lists."""

from __future__ import annotations

from litestar import Response, get

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import RecordNotFound
from app.core.forms import read_query
from app.core.http_types import Req
from app.core.web import render
from app.search import services
from app.search.forms import SearchQuery


def _limits() -> dict[str, object]:
    return {"min_length": services.MIN_LENGTH, "note_scan": services.NOTE_SCAN}


@get("/search")
async def search_page(request: Req, current: Current) -> Response[str]:
    query = read_query(request, SearchQuery)
    results = await services.search_workspace(current, query.q)
    ctx = {"q": query.q, "results": results, **_limits()}
    return render(request, "search/page.html", ctx, block="results")


@get("/search/pick/{kind:str}")
async def picker_matches(request: Req, current: Current, kind: str) -> Response[str]:
    """The records a form's picker offers for what was typed (a page of its own when opened
    directly; the list's items for htmx)."""
    if kind not in services.PICKERS:
        raise RecordNotFound(kind)
    query = read_query(request, SearchQuery)
    picks = await services.pick(current, kind, query.q)
    ctx = {"kind": kind, "q": query.q, "picks": picks}
    return render(request, "search/picks.html", ctx, block="picks")


ROUTES = [routes_at(Level.MEMBER, [search_page, picker_matches])]
