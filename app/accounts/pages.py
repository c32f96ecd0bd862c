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

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import Form, read_form
from app.core.http_types import Req
from app.core.web import get_session, redirect, render

F = TypeVar("F", bound=Form)
Context = Callable[[Current, FormInvalid | None], Awaitable[Mapping[str, object]]]


@dataclass(frozen=True)
class FormsPage:
    """The page at `path` rendering `template` (its `block` for htmx) with `context`: what it
    shows besides a refused form's "errors" and "values" (it may put its own "errors")."""

    path: str
    template: str
    context: Context
    block: str | None = None

    async def show(
        self, request: Req, current: Current, refused: FormInvalid | None = None
    ) -> Response[str]:
        ctx = {
            "errors": refused.errors if refused else {},
            "values": refused.shown() if refused else {},
            **await self.context(current, refused),
        }
        return render(request, self.template, ctx, block=self.block)

    def page(self) -> HTTPRouteHandler:
        """The GET of the page."""

        async def page(request: Req, current: Current) -> Response[str]:
            return await self.show(request, current)

        return get(self.path)(page)

    def action(
        self,
        path: str,
        schema: type[F],
        act: Callable[[Current, F], Awaitable[str]],
        level: str = "success",
    ) -> HTTPRouteHandler:
        """A form posted to `path`: read into `schema`, `act` does it and says what it did
        (a toast at `level`), back to the page; refused, the page again."""

        async def submit(request: Req, current: Current) -> Response[str]:
            form = await self._read(request, current, schema)
            return await self._done(request, act(current, form), level)

        return post(path)(submit)

    def item_action(
        self,
        path: str,
        schema: type[F],
        act: Callable[[Current, UUID, F], Awaitable[str]],
        level: str = "success",
    ) -> HTTPRouteHandler:
        """`action` on the record whose id is the one parameter of `path`."""

        async def submit(request: Req, current: Current) -> Response[str]:
            form = await self._read(request, current, schema)
            return await self._done(request, act(current, path_id(request), form), level)

        return post(path)(submit)

    async def _read(self, request: Req, current: Current, schema: type[F]) -> F:
        async def again(refused: FormInvalid) -> Response[str]:
            return await self.show(request, current, refused)

        return await read_form(request, schema, page=again)

    async def _done(self, request: Req, act: Awaitable[str], level: str) -> Response[str]:
        get_session(request).flash(level, await act)
        return redirect(request, self.path)


async def said(change: Awaitable[object], message: str) -> str:
    """`message`, once `change` is done (for an action whose toast is fixed)."""
    await change
    return message


def path_id(request: Req) -> UUID:
    """The one id in the request's path (its route declares it `:uuid`)."""
    (found,) = request.path_params.values()
    return found if isinstance(found, UUID) else UUID(str(found))
