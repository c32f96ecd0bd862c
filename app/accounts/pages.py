"""A page of forms, made once: its GET, the forms posted from it and, when one is refused,
the page again with the messages and the values that were sent (422 / 409). A page says only
its template and what else it shows; each form says its schema and what it does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.form_routes import FormVisit, shown_again
from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import Form, read_form
from app.core.http_types import Req
from app.core.web import redirect, render

F = TypeVar("F", bound=Form)
Context = Callable[[Current], Awaitable[Mapping[str, object]]]


def _errors(refused: FormInvalid) -> Mapping[str, str]:
    return refused.errors


@dataclass(frozen=True)
class FormsPage:
    """The page at `path` rendering `template` (its `block` for htmx) with `context`, and the
    messages and values of a refused form: "errors" and "values", or for a form posted with
    a `slot`, "<slot>_errors" and "<slot>_values" (and its block "<slot>_form")."""

    path: str
    template: str
    context: Context
    block: str | None = None
    errors_of: Callable[[FormInvalid], Mapping[str, str]] = _errors  # where messages show

    async def show(self, visit: FormVisit, slot: str | None = None) -> Response[str]:
        """The page; refused input shows on the form posted with `slot` (or the page's)."""
        refused = visit.refused
        ctx = {"errors": {}, "values": {}, **await self.context(visit.current)}
        prefix = f"{slot}_" if slot else ""
        if refused is not None:
            ctx |= {f"{prefix}errors": self.errors_of(refused), f"{prefix}values": refused.shown()}
        return render(
            visit.request, self.template, ctx, block=f"{slot}_form" if slot else self.block
        )

    def page(self) -> HTTPRouteHandler:
        """The GET of the page."""

        async def page(request: Req, current: Current) -> Response[str]:
            return await self.show(FormVisit(request, current))

        return get(self.path)(page)

    def action(
        self,
        path: str,
        schema: type[F],
        act: Callable[[Current, F], Awaitable[str]],
        level: str = "success",
        slot: str | None = None,
    ) -> HTTPRouteHandler:
        """A form posted to `path`: see `submit`."""

        async def action(request: Req, current: Current) -> Response[str]:
            return await self.submit(request, current, schema, act, level, slot)

        return post(path)(action)

    def item_action(
        self,
        path: str,
        schema: type[F],
        act: Callable[[Current, UUID, F], Awaitable[str]],
        level: str = "success",
    ) -> HTTPRouteHandler:
        """A form posted to `path` about the record whose id is the path's one parameter."""

        async def action(request: Req, current: Current) -> Response[str]:
            record_id = path_id(request)

            def on_record(current: Current, form: F) -> Awaitable[str]:
                return act(current, record_id, form)

            return await self.submit(request, current, schema, on_record, level)

        return post(path)(action)

    async def submit(
        self,
        request: Req,
        current: Current,
        schema: type[F],
        act: Callable[[Current, F], Awaitable[str]],
        level: str = "success",
        slot: str | None = None,
    ) -> Response[str]:
        """The form read into `schema`; `act` does it and says what it did (a toast at
        `level`), then back to the page. Refused, the page again with the messages."""
        page = shown_again(self.show, request, current, slot)
        form = await read_form(request, schema, page=page)
        return redirect(request, self.path, await act(current, form), level)


async def said(change: Awaitable[object], message: str) -> str:
    """`message`, once `change` is done (for an action whose toast is fixed)."""
    await change
    return message


def path_id(request: Req) -> UUID:
    """The one id in the request's path (its route declares it `:uuid`)."""
    (found,) = request.path_params.values()
    return found if isinstance(found, UUID) else UUID(str(found))
