"""Duplicate contacts' pages: the review list of likely pairs (`/contacts/duplicates`) and
the merge of two contacts (`/contacts/{id}/merge?other=…`)."""

from __future__ import annotations

from uuid import UUID

from litestar import Response, get, post

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.crm import merge
from app.crm.duplicates import PAGE_SIZE, DuplicatesQuery, pairs_page


@get("/contacts/duplicates")
async def contact_duplicates(request: Req, current: Current) -> Response[str]:
    page = read_query(request, DuplicatesQuery).page or 1
    pairs, total = await pairs_page(current, page)
    pages = max(1, -(-total // PAGE_SIZE))
    ctx = {"pairs": pairs, "total": total, "page": page, "pages": pages}
    return render(request, "crm/merge_duplicates.html", ctx)


FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Job title",
    "company_id": "Company",
    "owner_id": "Owner",
}


async def merge_page(
    request: Req,
    current: Current,
    record_id: UUID,
    other_id: UUID | None,
    refused: FormInvalid | None = None,
) -> Response[str]:
    """The merge page: both contacts side by side, a choice per field (refused: the
    messages, the choices kept, both records read again)."""
    pair = await merge.merge_pair(current, record_id, other_id)
    shown = refused.shown() if refused else {}
    ctx = {
        "record_id": record_id,
        "other_id": other_id,
        "pair": pair,
        "fields": FIELD_LABELS,
        "chosen": {f: shown.get(f) or "this" for f in merge.CHOSEN},
        "errors": refused.errors if refused else {},
    }
    status = refused.status if refused else 200
    return render(request, "crm/merge.html", ctx, status=status)


@get("/contacts/{record_id:uuid}/merge")
async def contact_merge_page(request: Req, current: Current, record_id: UUID) -> Response[str]:
    other = read_query(request, merge.MergeQuery).other
    try:
        return await merge_page(request, current, record_id, other)
    except FormInvalid as refused:  # itself
        return await merge_page(request, current, record_id, None, refused)


def _other_of(refused: FormInvalid) -> UUID | None:
    try:
        return UUID(str(refused.shown().get("other_id") or ""))
    except ValueError:
        return None


@post("/contacts/{record_id:uuid}/merge")
async def contact_merge(request: Req, current: Current, record_id: UUID) -> Response[str]:
    async def page(refused: FormInvalid) -> Response[str]:
        other = _other_of(refused)
        return await merge_page(
            request, current, record_id, other if other != record_id else None, refused
        )

    form = await read_form(request, merge.MergeForm, page=page)
    name = await merge.merge_contacts(current, record_id, form)
    get_session(request).flash("success", f"Merged {name} into this contact.")
    return redirect(request, f"/contacts/{record_id}")


ROUTES = [contact_duplicates, contact_merge_page, contact_merge]
