"""One API resource declared once: its list, one record, create, partial update and delete
become Litestar handlers (with their real types, so the OpenAPI document describes them), each
a thin call into the domain's own service and form Struct.

`Resource.routes()` builds the handlers; a resource names only what differs: its output and
body Structs (the columns read, its list page and what an update may change follow from them),
the text it searches, its forms and services.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from uuid import UUID

import msgspec
from litestar import Response, delete, get, patch, post
from litestar.handlers import HTTPRouteHandler

from app.accounts.schemas import Current
from app.api.auth import needs
from app.api.conformance import bind
from app.api.custom_routes import custom_in, custom_out, custom_sql
from app.api.listing import Filters, Listing, list_page, merged, one_row, sent_fields, version_of
from app.api.listing import form_source as source
from app.api.schemas import page_of
from app.core.forms import Form, parse
from app.core.http_types import Req

Values = dict[str, object]
Out = TypeVar("Out", bound=msgspec.Struct)
New = TypeVar("New", bound=Form)
Edit = TypeVar("Edit", bound=Form)
Method = type[get] | type[post] | type[patch] | type[delete]


# each operation's handler name and what its documentation says ({name}: "contacts",
# {one}: "contact")
OPERATIONS = {
    "list": ("list_{name}", "{Name}, filtered, sorted and paged."),
    "get": ("get_{one}", "One {one}; its version is the ETag."),
    "create": ("create_{one}", "A new {one} (the same rules as the page's form)."),
    "update": (
        "update_{one}",
        "Change the fields sent of a {one}; the version read (If-Match or `version`) must still"
        " be current, else 409.",
    ),
    "delete": ("delete_{one}", "Delete a {one} at the version read (If-Match or ?version=)."),
}


def _same(current: Current, values: Values) -> Values:
    return values


def tagged(body: Out, version: int) -> Response[Out]:
    """A record with its version as the ETag (send it back as If-Match to update)."""
    return Response(body, headers={"ETag": f'"{version}"'})


def handler(
    target: Callable[..., Awaitable[object]],
    name: str,
    doc: str,
    params: dict[str, object],
    returns: object,
    defaults: dict[str, object] | None = None,
) -> Callable[..., Awaitable[object]]:
    """`target(**kwargs)` presented to Litestar as `name(<params>) -> returns` (Litestar reads
    the signature and the type hints to inject, validate and document the parameters)."""
    defaults = defaults or {}

    async def fn(**kwargs: object) -> object:
        return await target(**kwargs)

    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                k,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=v,
                default=defaults.get(k, inspect.Parameter.empty),
            )
            for k, v in params.items()
        ],
        return_annotation=returns,
    )
    fn.__annotations__ = {**params, "return": returns}
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


@dataclass(frozen=True)
class Resource(Generic[Out, New, Edit]):
    """A resource at /api/v1/<name> (the scope object is the name too)."""

    name: str  # "contacts"
    one: str  # "contact": the handlers' names, and `<one>_id` the path parameter
    search: str  # the text `q` searches (in SQL, the table is `r`)
    out: type[Out]
    body: type[msgspec.Struct] | None = None
    # what an update may change (default: the body's fields but its `version`)
    fields: tuple[str, ...] | None = None
    # a create and an update: the page's form a body is read into, and the service taking it
    create: tuple[type[New], Callable[[Current, New], Awaitable[UUID]]] | None = None
    update: tuple[type[Edit], Callable[[Current, UUID, Edit], Awaitable[object]]] | None = None
    delete: Callable[[Current, UUID, int], Awaitable[object]] | None = None
    # a stored row as the output's values (decrypting what is sealed)
    opened: Callable[[Values], Mapping[str, object]] | None = None
    # the record an update starts from (default: its output)
    before: Callable[[Current, UUID], Awaitable[Values]] | None = None
    # values as the forms read them (e.g. a time in the member's zone)
    local: Callable[[Current, Values], Values] = _same
    owner: str = "r.owner_id"  # what the `owner` filter compares
    # the output fields read by another SQL expression than r.<field> (None: not a column);
    # every other field is its column, and `custom` (the record's custom fields' object, when
    # its output has one) is read by one expression (app/api/custom_routes.py)
    columns: Mapping[str, str | None] = field(default_factory=dict)
    about: str = ""
    extra: tuple[HTTPRouteHandler, ...] = field(default=())

    @property
    def param(self) -> str:
        return f"{self.one}_id"

    @property
    def page(self) -> type[msgspec.Struct]:
        """A page of the list: {data: list[out], next_cursor}."""
        return page_of(self.out)

    @property
    def changeable(self) -> tuple[str, ...]:
        """What an update may change."""
        if self.fields is not None:
            return self.fields
        sent = self.body.__struct_fields__ if self.body is not None else ()
        return tuple(f for f in sent if f != "version")

    @property
    def custom(self) -> bool:
        """Whether the record carries its custom fields' `custom` object."""
        return "custom" in self.out.__struct_fields__

    @functools.cached_property
    def listing(self) -> Listing:
        """Its table as `r`, read as the output's fields (the tenant too: sealed values are
        opened with it)."""
        found = {"tenant_id": "r.tenant_id"} | {f: f"r.{f}" for f in self.out.__struct_fields__}
        if self.custom:
            found["custom"] = custom_sql(self.one)
        select = ", ".join(e for e in (found | dict(self.columns)).values() if e is not None)
        return Listing(f"{self.name} r", select, self.search, self.owner)

    def as_out(self, row: Values) -> Out:
        found = self.opened(row) if self.opened else row
        return msgspec.convert(custom_out(found) if self.custom else found, self.out)

    def as_form(self, current: Current, values: Values) -> Values:
        """A body's values as the forms read them."""
        values = self.local(current, values)
        return custom_in(current, values) if self.custom else values

    async def read(self, current: Current, record_id: UUID) -> Out:
        """One record of the workspace (404 for another workspace's or a missing one)."""
        return self.as_out(await one_row(current, self.listing, record_id))

    async def _before(self, current: Current, record_id: UUID) -> Values:
        if self.before is not None:
            return await self.before(current, record_id)
        return msgspec.structs.asdict(await self.read(current, record_id))

    def routes(self) -> list[HTTPRouteHandler]:
        base, item = f"/{self.name}", f"/{self.name}/{{{self.param}:uuid}}"
        if self.body is not None:  # the forms' rules are the body's schema
            edit = (self.update[0],) if self.update else ()
            new = (self.create[0],) if self.create else ()
            bind(self.body, *edit, *new, create=new)
        one: dict[str, object] = {"current": Current, self.param: UUID}
        changed: dict[str, object] = {"request": Req, **one}
        found = [
            self._route(get, base, self._list, {"current": Current, "filters": Filters}, self.page),
            self._route(get, item, self._get, one, Response[self.out]),  # type: ignore[name-defined]
        ]
        if self.create is not None and self.body is not None:
            made = {"current": Current, "data": self.body}
            found.append(self._route(post, base, self._create, made, self.out))
        if self.update is not None and self.body is not None:
            edited = {**changed, "data": self.body}
            found.append(self._route(patch, item, self._update, edited, self.out))
        if self.delete is not None:
            params = {**changed, "version": int | None}
            found.append(self._route(delete, item, self._delete, params, None, {"version": None}))
        return [*found, *self.extra]

    def _route(
        self,
        method: Method,
        path: str,
        target: Callable[..., Awaitable[object]],
        params: dict[str, object],
        returns: object,
        defaults: dict[str, object] | None = None,
    ) -> HTTPRouteHandler:
        """`target` as the `method` handler at `path`, named and described as OPERATIONS says
        (reads need the resource's read scope, the rest its write scope)."""
        operation = target.__name__.removeprefix("_")
        name, doc = OPERATIONS[operation]
        names = {"name": self.name, "Name": self.name.capitalize(), "one": self.one}
        about = self.about if operation == "list" and self.about else doc.format(**names)
        scope = needs(self.name, "read" if method is get else "write")
        fn = handler(target, name.format(**names), about, params, returns, defaults)
        return method(path, opt=scope)(fn)

    async def _list(self, *, current: Current, filters: Filters) -> msgspec.Struct:
        page = await list_page(current, self.listing, filters)
        return self.page(data=[self.as_out(row) for row in page.rows], next_cursor=page.next_cursor)

    async def _get(self, *, current: Current, **path: UUID) -> Response[Out]:
        found = await self.read(current, path[self.param])
        version = getattr(found, "version", None)  # notes have none: they are not edited
        return tagged(found, version) if isinstance(version, int) else Response(found)

    async def _create(self, *, current: Current, data: msgspec.Struct) -> Out:
        assert self.create is not None
        new_form, create = self.create
        form = parse(new_form, source(self.as_form(current, sent_fields(data))))
        return await self.read(current, await create(current, form))

    async def _update(
        self, *, request: Req, current: Current, data: msgspec.Struct, **path: UUID
    ) -> Out:
        assert self.update is not None
        edit_form, update = self.update
        record_id = path[self.param]
        version = version_of(request, getattr(data, "version", None))
        values = merged(await self._before(current, record_id), data, self.changeable)
        form = parse(edit_form, source({**self.as_form(current, values), "version": version}))
        await update(current, record_id, form)
        return await self.read(current, record_id)

    async def _delete(
        self, *, request: Req, current: Current, version: int | None = None, **path: UUID
    ) -> None:
        assert self.delete is not None
        await self.delete(current, path[self.param], version_of(request, version))
