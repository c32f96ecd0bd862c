"""The pages of a CRM record kind (contacts, companies), made once: list (search, sort, keyset
pages), new, detail, edit, delete with confirm. A kind says what differs in a `RecordPages`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.form_routes import FormVisit, shown_again
from app.accounts.schemas import Current
from app.core.db import self_scoped, tenant_transaction
from app.core.forms import Form, read_form
from app.core.forms.values import form_values
from app.core.http_types import Req
from app.core.kept import CSRF_MARK, csrf_joined, csrf_split
from app.core.money import currencies
from app.core.paging import Page
from app.core.templating import render_html
from app.core.web import ONE_READ, get_session, is_htmx, redirect, render, render_with_parts
from app.crm.common import member_options
from app.crm.custom_values import custom_field_list, list_context
from app.crm.filters import Column, ListView, read_view
from app.crm.kept_lists import content_key, keep_content, kept_content, kept_page
from app.crm.list_frame import list_frame, list_state
from app.crm.notes import subject_panel
from app.crm.related import related_deals
from app.crm.schemas import ConfirmDelete
from app.crm.web import confirm_delete_page, view_context

Values = dict[str, Any]
NewF = TypeVar("NewF", bound=Form)
EditF = TypeVar("EditF", bound=Form)
View = TypeVar("View", bound=ListView)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Response[Any]]])


@dataclass(frozen=True)
class RecordPages(Generic[NewF, EditF, View]):
    """What a record kind's pages need: its services, forms, and the few things that differ."""

    kind: Literal["contact", "company"]  # the URL, template folder and context names follow
    plural: str  # "contacts"
    fields: tuple[str, ...]  # the stored fields its edit form shows
    columns: Mapping[str, Column]  # the list's sortable columns
    view_schema: type[View]  # the list's filters (app/crm/filters.py)
    list_page: Callable[[Current, View], Awaitable[Page]]
    read: Callable[[Current, UUID], Awaitable[Values]]
    create: Callable[[Current, NewF], Awaitable[UUID]]
    update: Callable[[Current, UUID, EditF], Awaitable[None]]
    delete: Callable[[Current, UUID, int], Awaitable[str]]
    form: type[NewF]
    edit_form: type[EditF]
    on_delete: str  # what deleting a record does, said on the delete page
    # the detail page's route `opt`: one transaction for the whole page (ONE_READ), or none
    # when the kind's page runs its own reads (the company's kept page: one self-scoped read)
    detail_opt: Mapping[str, Any] = field(default_factory=lambda: ONE_READ)

    # what a kind's subclass overrides or extends where it differs

    async def form_context(self, current: Current, shown: Values) -> Values:
        """The form's choices, given the values shown: every record has an owner, the
        workspace's custom fields of the kind; a new one may be refused as a likely duplicate
        (LikelyDuplicate's matches)."""
        return {
            "member_options": await member_options(current),
            "duplicates": shown.get("duplicates") or [],
            "custom_fields": await custom_field_list(current, self.kind),
            "currency_codes": list(currencies()),
        }

    def new_values(self, request: Req, current: Current) -> Values:
        """The new form's values: whoever adds the record owns it."""
        return {"owner_id": str(current.user_id)}

    async def detail_page(
        self, request: Req, current: Current, record_id: UUID, extra: Values | None
    ) -> Response[Any]:
        """The record's page; `extra` carries a notes/tasks form's errors and values. One
        transaction: the services below join it, so the page is one consistent read."""
        async with tenant_transaction(current.tenant_id, current.user_id):
            record = await self.read(current, record_id)
            panel = await subject_panel(current, self.kind, record_id)
            related = await self.related(current, record_id)
        panel.update(extra or {})
        ctx = {self.kind: record, "panel": panel, **related}
        return render(request, self.template("detail"), ctx)

    async def related(self, current: Current, record_id: UUID) -> Values:
        """The detail page's lists of related records: every kind lists its deals."""
        return {"deals": await related_deals(current, self.kind, record_id)}

    def name_of(self, record: Values) -> str:
        """The record's name on the delete page."""
        return str(record["name"])

    def listed(
        self, rows: list[dict[str, object]], cells: Mapping[str, list[str]]
    ) -> list[tuple[Hashable, ...]] | None:
        """The list's rows as the values of its kept row macro (`kept_row` of
        crm/_records.html), each with its custom `cells`; None: the template writes them."""
        return None

    @property
    def base(self) -> str:
        return f"/{self.plural}"

    def template(self, name: str) -> str:
        return f"crm/{self.plural}/{name}.html"


RenderRecord = Callable[[Req, Current, UUID, Values | None], Awaitable[Response[Any]]]


def record_routes(p: RecordPages[NewF, EditF, View]) -> tuple[list[HTTPRouteHandler], RenderRecord]:
    """The kind's route handlers, and the function rendering its detail page (which the notes
    and tasks routes use to show a refused form in place)."""
    item = p.base + "/{record_id:uuid}"
    title = p.kind.capitalize()

    async def list_page(request: Req, current: Current) -> Response[Any]:
        """The list (or htmx's results): its content kept per the list's state read now, the
        query and the reader (app/crm/kept_lists.py), else rendered from the frame and the
        page's result (kept or read) and kept; the layout around it kept too (render_with_parts). A
        kept content costs the state's one self-scoped statement; otherwise one transaction
        reads the state again, then the frame and the page's rows."""
        block = "results" if is_htmx(request) else "list_content"
        query = request.url.query
        read = partial(list_state, current=current, plural=p.plural)
        state = await self_scoped(current.tenant_id, current.user_id, read)
        content = kept_content(content_key(current, p.kind, state, query, block))
        if content is None:
            async with tenant_transaction(current.tenant_id, current.user_id) as conn:
                key = content_key(current, p.kind, await read(conn), query, block)
                content = kept_content(key)
                if content is None:
                    content = csrf_split(await list_content(request, current, block))
                    keep_content(key, content)
        shown = csrf_joined(content, get_session(request).csrf)
        if block == "results":
            return Response(shown, media_type="text/html")
        ctx = {"kind": p.kind, "plural": p.plural}
        return render_with_parts(
            request, p.template("list"), ctx, {"list_content": shown}, kept_by=(p.kind, p.plural)
        )

    async def list_content(request: Req, current: Current, block: str) -> bytes:
        """The list's `block` rendered (CSRF_MARK for the token), inside the page's read, after
        its state: the frame (with its versions), then the page's result."""
        view = read_view(request, p.view_schema)
        frame = await list_frame(current, p.plural, p.kind)
        ctx: Values = {"kind": p.kind, "plural": p.plural, "csrf_token": CSRF_MARK}
        page = await kept_page(current, p.kind, view, frame, p.list_page)
        ctx |= view_context(frame, p.base, page, view, p.columns)
        ctx |= await list_context(
            current.tenant_id, p.kind, view.cf, view.cols, page.rows, frame.fields
        )
        ctx["listed"] = p.listed(page.rows, ctx["custom_cells"])
        return render_html(p.template("list"), ctx, block).encode()

    async def form_page(
        visit: FormVisit, record_id: UUID | None, *, values: Values | None = None
    ) -> Response[str]:
        """The form: empty, filled from the record, or refused (messages + input kept)."""
        current, refused = visit.current, visit.refused
        if refused is not None and record_id is not None:
            await p.read(current, record_id)  # another workspace's (or a deleted) record: 404
        shown = refused.shown() if refused else values or {}
        ctx = {
            "values": shown,
            "errors": refused.errors if refused else {},
            f"{p.kind}_id": record_id,
            **await p.form_context(current, shown),
        }
        return render(visit.request, p.template("form"), ctx, block="form")

    async def new(request: Req, current: Current) -> Response[str]:
        values = p.new_values(request, current)
        return await form_page(FormVisit(request, current), None, values=values)

    async def create(request: Req, current: Current) -> Response[str]:
        page = shown_again(form_page, request, current, None)
        record_id = await p.create(current, await read_form(request, p.form, page=page))
        get_session(request).flash("success", f"{title} created.")
        return redirect(request, f"{p.base}/{record_id}")

    async def render_record(
        request: Req, current: Current, record_id: UUID, extra: Values | None = None
    ) -> Response[Any]:
        """The record's page (the kind's `detail_page`)."""
        return await p.detail_page(request, current, record_id, extra)

    async def detail(request: Req, current: Current, record_id: UUID) -> Response[Any]:
        return await render_record(request, current, record_id)

    async def edit(request: Req, current: Current, record_id: UUID) -> Response[str]:
        record = await p.read(current, record_id)
        values = form_values(record, (*p.fields, "version")) | record.get("custom_form", {})
        return await form_page(FormVisit(request, current), record_id, values=values)

    async def update(request: Req, current: Current, record_id: UUID) -> Response[str]:
        page = shown_again(form_page, request, current, record_id)
        await p.update(current, record_id, await read_form(request, p.edit_form, page=page))
        get_session(request).flash("success", f"{title} saved.")
        return redirect(request, f"{p.base}/{record_id}")

    async def confirm_page(visit: FormVisit, record_id: UUID) -> Response[str]:
        """ "Delete this record?" for the version stored (refused: asked again, with why)."""
        record = await p.read(visit.current, record_id)
        link = f"{p.base}/{record_id}"
        name = p.name_of(record)
        return confirm_delete_page(
            visit.request, p.kind, name, link, record["version"], p.on_delete, visit.refused
        )

    async def delete_confirm(request: Req, current: Current, record_id: UUID) -> Response[str]:
        return await confirm_page(FormVisit(request, current), record_id)

    async def delete(request: Req, current: Current, record_id: UUID) -> Response[str]:
        page = shown_again(confirm_page, request, current, record_id)
        form = await read_form(request, ConfirmDelete, page=page)
        name = await p.delete(current, record_id, form.version)
        get_session(request).flash("success", f"Deleted {name}.")
        return redirect(request, p.base)

    def named(fn: Handler, action: str) -> Handler:
        fn.__name__ = fn.__qualname__ = f"{p.kind}_{action}"  # contact_list, company_edit…
        return fn

    handlers = [
        get(p.base)(named(list_page, "list")),  # one self-scoped read while kept
        get(p.base + "/new")(named(new, "new")),
        post(p.base + "/new")(named(create, "create")),
        get(item, opt=p.detail_opt)(named(detail, "detail")),
        get(item + "/edit")(named(edit, "edit")),
        post(item + "/edit")(named(update, "update")),
        get(item + "/delete")(named(delete_confirm, "delete_confirm")),
        post(item + "/delete")(named(delete, "delete")),
    ]
    return handlers, render_record
