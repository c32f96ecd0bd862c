"""Route helpers shared by the CRM pages: a list view's context, the delete page."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from litestar import Response

from app.core.errors import FormInvalid
from app.core.http_types import Req
from app.core.paging import Page
from app.core.web import render
from app.crm.filters import Column, ListView, is_filtered, is_short_search, view_query, view_url
from app.crm.list_frame import ListFrame
from app.crm.list_queries import COUNT_CAP

# (base, the view's JSON, its sortable columns, its order) -> the URL pieces that are a
# function of them only (no data): worked out once per view shown, not per request (sort
# links, the view's query; ~3 % of the contact list's CPU)
_urls: dict[tuple[str, bytes, tuple[str, ...], str, bool], dict[str, object]] = {}
URLS_KEPT = 512
_encode = msgspec.json.Encoder().encode


def _view_urls(
    base: str, view: ListView, sortable: list[str], descending: bool, sort: str
) -> dict[str, object]:
    key = (base, _encode(view), tuple(sortable), sort, descending)
    urls = _urls.get(key)
    if urls is None:

        def sort_url(name: str) -> str:
            flip = ("asc" if descending else "desc") if name == sort else ""
            return view_url(base, msgspec.structs.replace(view, sort=name, dir=flip))

        urls = {
            "sort_urls": {name: sort_url(name) for name in sortable},
            "filtered": is_filtered(view),
            "short_search": is_short_search(view.q),
            "view_query": view_query(view),
        }
        if len(_urls) >= URLS_KEPT:
            del _urls[next(iter(_urls))]
        _urls[key] = urls
    return urls


def view_context(
    frame: ListFrame,
    base: str,
    page: Page,
    view: ListView,
    columns: Mapping[str, Column],
) -> dict[str, object]:
    """What a filtered, sortable, keyset-paginated list page renders: the page and how many
    the view holds, the view (filters shown back), its URL pieces (column sort links, pages,
    the query a saved view keeps), the owner choices and the saved views above the list (of
    its `frame`, read with the page: `list_frame`)."""
    sort = getattr(view, "sort", "") or next(iter(columns))
    natural = columns[sort].descending if sort in columns else False  # a custom column: up
    descending = natural if not view.dir else view.dir == "desc"
    sortable = [*columns, *(f"cf.{key}" for key in view.cols)]  # app/crm/custom_sort.py
    urls = _view_urls(base, view, sortable, descending, sort)
    return {
        "page": page,
        "count": page.extra.get("count"),
        "count_cap": COUNT_CAP,
        "view": view,
        "q": view.q,
        "sort": sort,
        "descending": descending,
        "columns": columns,
        **urls,
        "base": base,
        "next_url": view_url(base, view, after=page.next_cursor) if page.next_cursor else None,
        "prev_url": view_url(base, view, before=page.prev_cursor) if page.prev_cursor else None,
        "member_options": frame.member_options,
        "saved_views": frame.views,
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
