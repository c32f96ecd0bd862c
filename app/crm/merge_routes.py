"""Duplicate contacts' pages: the review list of likely pairs (`/contacts/duplicates`)."""

from __future__ import annotations

from litestar import Response, get

from app.accounts.schemas import Current
from app.core.forms import read_query
from app.core.http_types import Req
from app.core.web import render
from app.crm.duplicates import PAGE_SIZE, DuplicatesQuery, pairs_page


@get("/contacts/duplicates")
async def contact_duplicates(request: Req, current: Current) -> Response[str]:
    page = read_query(request, DuplicatesQuery).page or 1
    pairs, total = await pairs_page(current, page)
    pages = max(1, -(-total // PAGE_SIZE))
    ctx = {"pairs": pairs, "total": total, "page": page, "pages": pages}
    return render(request, "crm/merge_duplicates.html", ctx)


ROUTES = [contact_duplicates]
