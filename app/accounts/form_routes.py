"""A record's form page and the post that saves it, declared once: GET shows the page, POST
reads the form into its Struct and hands it to the save; refused input (422, or 409 when the
record changed meanwhile) shows the page again with its messages and the input kept.

The record's key is the one parameter of the page's path (`/tasks/{activity_id:uuid}/edit`);
the handlers read it as the path converted it, so a page takes whatever key it names. A new
record's page has none (`/deals/new`): its page and its save are given None.

Every form page, made here or by hand, takes a `FormVisit` (who asks, and the input refused
if any) and its record's key: `show(visit, key)`; `shown_again` makes it the `page` that
`read_form` shows refused input on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.schemas import Current
from app.core.errors import FormInvalid, FormPage
from app.core.forms import Form, read_form
from app.core.http_types import Req

F = TypeVar("F", bound=Form)
P = ParamSpec("P")


@dataclass(frozen=True)
class FormVisit:
    """One showing of a form page: the request, who asks, and the input refused (None when
    the page is simply asked for: the form as stored)."""

    request: Req
    current: Current
    refused: FormInvalid | None = None


# the page: the form as stored, or (given the refusal) the input again with its messages
Show = Callable[[FormVisit, Any], Awaitable[Response[str]]]
# what a valid form does, given the record's key; its answer (a redirect, usually)
Save = Callable[[Req, Current, Any, F], Awaitable[Response[str]]]

_PARAMETER = re.compile(r"\{(\w+):\w+\}")


def shown_again(
    show: Callable[Concatenate[FormVisit, P], Awaitable[Response[str]]],
    request: Req,
    current: Current,
    *args: P.args,
    **kwargs: P.kwargs,
) -> FormPage:
    """`read_form`'s page for refused input: `show` (given the rest of its arguments, the
    record's key usually) again, with the refusal's messages and the input kept."""

    async def again(refused: FormInvalid) -> Response[str]:
        return await show(FormVisit(request, current, refused), *args, **kwargs)

    return again


def form_routes(
    name: str,
    path: str,
    show: Show,
    schema: type[F],
    save: Save[F],
    *,
    posts_to: str | None = None,
    page_opt: Mapping[str, Any] | None = None,
) -> list[HTTPRouteHandler]:
    """The page at `path` (handler `<name>_page`, with the route `opt` `page_opt`, e.g.
    ONE_READ) and the post (handler `<name>`) to `posts_to` (default: the page's own path),
    both with the record's key of `path` (None when `path` names none: a new record)."""
    keys = _PARAMETER.findall(path)
    if len(keys) > 1:
        raise ValueError(f"{path}: a form page names one record at most")
    key = keys[0] if keys else None

    def record_of(request: Req) -> Any:
        return None if key is None else request.path_params[key]

    async def page(request: Req, current: Current) -> Response[str]:
        return await show(FormVisit(request, current), record_of(request))

    async def submit(request: Req, current: Current) -> Response[str]:
        record = record_of(request)
        form = await read_form(request, schema, page=shown_again(show, request, current, record))
        return await save(request, current, record, form)

    page.__name__ = page.__qualname__ = f"{name}_page"
    page.__doc__ = show.__doc__
    submit.__name__ = submit.__qualname__ = name
    submit.__doc__ = save.__doc__
    return [get(path, opt=dict(page_opt or {}))(page), post(posts_to or path)(submit)]
