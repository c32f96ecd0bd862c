"""Duplicates' pages, made once per kind (contacts, companies): the review list of likely pairs
(`/{plural}/duplicates`) and the merge of two records (`/{plural}/{id}/merge?other=…`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.form_routes import FormVisit
from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.crm import company_duplicates, merge
from app.crm.duplicates import PAGE_SIZE, DuplicatesQuery, Pair, pairs_page
from app.crm.merge_kinds import COMPANY, CONTACT

PairsPage = Callable[[Current, int], Awaitable[tuple[list[Pair], int]]]


def _other_of(refused: FormInvalid) -> UUID | None:
    try:
        return UUID(str(refused.shown().get("other_id") or ""))
    except ValueError:
        return None


def merge_routes(spec: merge.MergeKind[merge.F], pairs: PairsPage) -> list[HTTPRouteHandler]:
    """The kind's duplicates list and merge page (GET) and merge (POST)."""
    base = f"/{spec.plural}"
    names = {"kind": spec.kind, "plural": spec.plural}

    async def duplicates(request: Req, current: Current) -> Response[str]:
        page = read_query(request, DuplicatesQuery).page or 1
        rows, total = await pairs(current, page)
        pages = max(1, -(-total // PAGE_SIZE))
        ctx = {**names, "pairs": rows, "total": total, "page": page, "pages": pages}
        return render(request, "crm/merge_duplicates.html", ctx)

    async def merge_page(visit: FormVisit, record_id: UUID, other_id: UUID | None) -> Response[str]:
        """Both records side by side, a choice per field (refused: the messages, the choices
        kept, both records read again)."""
        refused = visit.refused
        pair = await merge.merge_pair(visit.current, spec, record_id, other_id)
        shown = refused.shown() if refused else {}
        ctx = {
            **names,
            "record_id": record_id,
            "other_id": other_id,
            "pair": pair,
            "fields": spec.chosen,
            "unioned": spec.unioned,
            "chosen": {f: shown.get(f) or "this" for f in spec.chosen},
            "errors": refused.errors if refused else {},
        }
        status = refused.status if refused else 200
        return render(visit.request, "crm/merge.html", ctx, status=status)

    async def open_merge(request: Req, current: Current, record_id: UUID) -> Response[str]:
        other = read_query(request, merge.MergeQuery).other
        try:
            return await merge_page(FormVisit(request, current), record_id, other)
        except FormInvalid as refused:  # itself
            return await merge_page(FormVisit(request, current, refused), record_id, None)

    async def do_merge(request: Req, current: Current, record_id: UUID) -> Response[str]:
        async def page(refused: FormInvalid) -> Response[str]:
            other = _other_of(refused)
            visit = FormVisit(request, current, refused)
            return await merge_page(visit, record_id, other if other != record_id else None)

        form = await read_form(request, spec.form, page=page)
        name = await merge.merge_records(current, spec, record_id, form)
        get_session(request).flash("success", f"Merged {name} into this {spec.kind}.")
        return redirect(request, f"{base}/{record_id}")

    duplicates.__name__ = duplicates.__qualname__ = f"{spec.kind}_duplicates"
    open_merge.__name__ = open_merge.__qualname__ = f"{spec.kind}_merge_page"
    do_merge.__name__ = do_merge.__qualname__ = f"{spec.kind}_merge"
    item = base + "/{record_id:uuid}/merge"
    return [
        get(base + "/duplicates")(duplicates),
        get(item)(open_merge),
        post(item)(do_merge),
    ]


ROUTES = [
    *merge_routes(CONTACT, pairs_page),
    *merge_routes(COMPANY, company_duplicates.pairs_page),
]
