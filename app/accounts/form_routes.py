"""A record's form page and the post that saves it, declared once: GET shows the page, POST
reads the form into its Struct and hands it to the save; refused input (422, or 409 when the
record changed meanwhile) shows the page again with its messages and the input kept.

The record's key is the one parameter of the page's path (`/tasks/{activity_id:uuid}/edit`);
the handlers read it as the path converted it, so a page takes whatever key it names.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.forms import Form, read_form
from app.core.http_types import Req

F = TypeVar("F", bound=Form)
# the page: the form as stored, or (given the refusal) the input again with its messages
Show = Callable[[Req, Current, Any, FormInvalid | None], Awaitable[Response[str]]]
# what a valid form does, given the record's key; its answer (a redirect, usually)
Save = Callable[[Req, Current, Any, F], Awaitable[Response[str]]]

_PARAMETER = re.compile(r"\{(\w+):\w+\}")


def form_routes(
    name: str,
    path: str,
    show: Show,
    schema: type[F],
    save: Save[F],
    *,
    posts_to: str | None = None,
) -> list[HTTPRouteHandler]:
    """The page at `path` (handler `<name>_page`) and the post (handler `<name>`) to
    `posts_to` (default: the page's own path), both with the record's key of `path`."""
    (key,) = _PARAMETER.findall(path)

    async def page(request: Req, current: Current) -> Response[str]:
        return await show(request, current, request.path_params[key], None)

    async def submit(request: Req, current: Current) -> Response[str]:
        record = request.path_params[key]
        form = await read_form(request, schema, page=partial(show, request, current, record))
        return await save(request, current, record, form)

    page.__name__ = page.__qualname__ = f"{name}_page"
    page.__doc__ = show.__doc__
    submit.__name__ = submit.__qualname__ = name
    submit.__doc__ = save.__doc__
    return [get(path)(page), post(posts_to or path)(submit)]
