"""Every API request checked against the operation's own OpenAPI schema before its handler
runs (app/api/conformance.py puts the forms' rules in it): a request the schema refuses is
refused with 422 and a message per field, so the API never accepts what its schema rejects.
A request that passes is marked; a form or service refusing it afterwards did so because of
the data as it is now (a stale version, an unknown record, a state), answered 409.

Also: OPTIONS lists in `Allow` exactly the methods the path documents.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import msgspec
from litestar import Response

from app.core.errors import FormInvalid
from app.core.http_types import Req
from app.core.problems import SCHEMA_CHECKED_KEY

Document = Callable[[], dict[str, object]]
Schema = dict[str, Any]
# the formats as JSON Schema validators read them (stricter than Python's parsers)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII
)
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\Z", re.ASCII)
KINDS = {
    "string": "text (a JSON string)",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
NEEDS_VERSION = "Send the record's version: an If-Match header or a `version` field."
# the size limits of a text and of a list: the schema's keys, and what a value under or over
# them is told ({n}: the limit, {size}: the value's, {s}: "s" when the limit is plural)
SIZES = {
    "text": (
        ("minLength", "Use at least {n} characters."),
        ("maxLength", "Use at most {n} characters (this has {size})."),
    ),
    "list": (("minItems", "Send at least {n} item{s}."), ("maxItems", "Send at most {n} items.")),
}


class Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check_size(schema: Schema, what: str, size: int) -> None:
    """Refuse a text or list (`what`) of `size` under or over its schema's limits."""
    (low, too_few), (high, too_many) = SIZES[what]
    least, most = schema.get(low), schema.get(high)
    if isinstance(least, int) and size < least:
        raise Refused(too_few.format(n=least, size=size, s="s" if least > 1 else ""))
    if isinstance(most, int) and size > most:
        raise Refused(too_many.format(n=most, size=size))


def _format_ok(fmt: object, value: str) -> bool:
    try:
        if fmt == "uuid":
            return bool(UUID_TEXT.match(value)) and bool(UUID(value))
        if fmt == "date":
            return bool(DATE.match(value)) and bool(date.fromisoformat(value))
        if fmt == "date-time":
            return bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value.upper()))
    except ValueError:
        return False
    return True


def _type_ok(kind: object, value: object) -> bool:
    checks: dict[object, Callable[[object], bool]] = {
        "string": lambda v: isinstance(v, str),
        # JSON Schema: 3.0 is an integer too
        "integer": lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())
        ),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }
    check = checks.get(kind)
    return check is None or check(value)


def _matches(pattern: str, value: str) -> bool:
    """A schema pattern (ECMA) matched as a validator would: its final `$` is the end of the
    text (Python's also matches before a last newline)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + "\\Z"
    return re.search(pattern, value) is not None


class Checker:
    """A small JSON Schema check, of the keywords our document uses, with plain messages."""

    def __init__(self, components: Schema) -> None:
        self.components = components

    def resolve(self, schema: Schema) -> Schema:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found = self.components.get(ref.rsplit("/", 1)[-1], {})
            return found if isinstance(found, dict) else {}
        return schema

    def check(self, schema: Schema, value: object, errors: dict[str, str], name: str) -> None:
        try:
            self.value(schema, value, errors, name)
        except Refused as exc:
            errors.setdefault(name, exc.message)

    def value(self, schema: Schema, value: object, errors: dict[str, str], name: str) -> None:
        schema = self.resolve(schema)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list):
            first: Refused | None = None  # what the first (non-null) option says is wrong
            fields: dict[str, str] = {}  # the first object option's problems, per field
            for option in options:
                trial: dict[str, str] = {}
                try:
                    self.value(option, value, trial, name)
                except Refused as exc:
                    first = first or exc
                    continue
                if trial:  # an object option: its fields' problems
                    fields = fields or trial
                    first = first or Refused(" ".join(dict.fromkeys(trial.values())))
                    continue
                break
            else:
                filled = [o["required"][0] for o in options if o.get("required")]
                if not filled and fields and isinstance(value, dict):
                    errors.update(fields)  # an object of the documented type: name its fields
                    return
                if not filled:
                    raise first or Refused("Send a value of the documented type.")
                prefix = f"{name}." if name != "body" else ""
                errors[prefix + filled[0]] = f"Fill in {' or '.join(filled)}."
        kind = schema.get("type")
        if not _type_ok(kind, value):
            raise Refused(f"Send {KINDS.get(str(kind), str(kind))} here.")
        about = str(schema.get("description") or "")
        if "enum" in schema and value not in schema["enum"]:
            shown = ", ".join(repr(v) for v in schema["enum"][:12] if v != "")
            raise Refused(f"Choose one of {shown}{'…' if len(schema['enum']) > 12 else ''}.")
        if isinstance(value, str):
            self.text(schema, value, about)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            low, high = schema.get("minimum"), schema.get("maximum")
            if (low is not None and value < low) or (high is not None and value > high):
                raise Refused(about or f"Send a number from {low} to {high}.")
        elif isinstance(value, list):
            self.items(schema, value, errors, name)
        elif isinstance(value, dict):
            self.object(schema, value, errors, name)

    def text(self, schema: Schema, value: str, about: str) -> None:
        _check_size(schema, "text", len(value))
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, value):
            raise Refused(f"Send {about}." if about else "This value has the wrong form.")
        fmt = schema.get("format")
        if fmt and not _format_ok(fmt, value):
            like = {"uuid": "an id", "date": "2026-12-31", "date-time": "2026-12-31T09:30:00Z"}
            raise Refused(f"Send {fmt} here, like {like.get(str(fmt), fmt)}.")

    def items(self, schema: Schema, value: list[object], errors: dict[str, str], name: str) -> None:
        _check_size(schema, "list", len(value))
        inner = schema.get("items")
        if isinstance(inner, dict):
            for item in value:
                self.value(inner, item, errors, name)

    def object(
        self, schema: Schema, value: dict[str, object], errors: dict[str, str], name: str
    ) -> None:
        props = schema.get("properties") or {}
        prefix = f"{name}." if name != "body" else ""
        for key in schema.get("required") or []:
            if key not in value and not (key == "version" and self.if_match):
                errors[f"{prefix}{key}"] = (
                    NEEDS_VERSION if key == "version" else f"Send {key}: it is required."
                )
        most, extra, names = (
            schema.get("maxProperties"),
            schema.get("additionalProperties"),
            schema.get("propertyNames"),
        )
        if isinstance(most, int) and len(value) > most:
            raise Refused(f"Send at most {most} keys here.")
        for key, item in value.items():
            if key in props:
                self.check(props[key], item, errors, f"{prefix}{key}")
            elif extra is False:
                errors[f"{prefix}{key}"] = "This request has no such field. Leave it out."
            elif isinstance(extra, dict):
                if isinstance(names, dict):
                    try:
                        self.text(names, key, "a key without control characters")
                    except Refused as exc:
                        errors[f"{prefix}{key[:40]}"] = exc.message
                        continue
                self.check(extra, item, errors, f"{prefix}{key}")

    if_match = False


def _operation(document: dict[str, object], request: Req) -> tuple[Schema | None, Schema]:
    """The operation of this request in `document`, and the document's components."""
    components = document.get("components")
    schemas = components.get("schemas", {}) if isinstance(components, dict) else {}
    path = _documented_path(request)
    paths = document.get("paths")
    item = paths.get(path) if isinstance(paths, dict) else None
    op = item.get(request.method.lower()) if isinstance(item, dict) else None
    return (op if isinstance(op, dict) else None), schemas


def _documented_path(request: Req) -> str:
    """The request's route as the document names it (`/api/v1/deals/{deal_id}`)."""
    template = request.scope.get("path_template") or request.url.path
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", str(template))


def _parameters(op: Schema, request: Req, checker: Checker, errors: dict[str, str]) -> None:
    """The documented query parameters and headers (their types are Litestar's to check; the
    rules on text, ranges and formats are ours)."""
    for param in op.get("parameters") or []:
        where, name, schema = param.get("in"), param.get("name"), param.get("schema") or {}
        if where == "query":
            values = request.query_params.getall(name, [])
        elif where == "header":
            values = [v for k, v in request.headers.items() if k.lower() == name.lower()]
        else:
            continue
        if not values:
            if param.get("required") and not (name == "version" and checker.if_match):
                errors[name] = NEEDS_VERSION if name == "version" else f"Send {name}."
            continue
        value: object = values[-1]
        kinds = {b.get("type") for b in schema.get("oneOf") or [schema] if isinstance(b, dict)}
        if "string" not in kinds:
            try:
                value = int(str(value))
            except ValueError:
                continue  # not a number: Litestar refuses it (422)
        checker.check(schema, value, errors, name)


async def _body(op: Schema, request: Req, checker: Checker, errors: dict[str, str]) -> None:
    content = (op.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    if not isinstance(schema, dict):
        return
    raw = await request.body()
    try:
        value = msgspec.json.decode(raw) if raw.strip() else None
    except msgspec.DecodeError:
        return  # not JSON: Litestar answers 400
    if value is not None:
        checker.check(schema, value, errors, "body")


def _if_match(request: Req) -> dict[str, str]:
    """An If-Match that is not one of our ETags ("3") is a malformed request (422), whatever
    the record; whether it is still current is the data's to say (409)."""
    header = request.headers.get("if-match", "").strip()
    tag = header.removeprefix("W/").strip('"')
    if header and not (tag.isdigit() and len(tag) <= 9 and int(tag) >= 1):
        return {"version": 'If-Match must be the record\'s ETag, like "3".'}
    return {}


def allowed(document: dict[str, object], path: str) -> str:
    """The `Allow` of a documented path: its methods, and OPTIONS."""
    paths = document.get("paths")
    item = paths.get(path) if isinstance(paths, dict) else None
    found = [m.upper() for m in ("get", "post", "put", "patch", "delete") if m in (item or {})]
    return ", ".join([*found, "OPTIONS"])


def checked_requests(document: Document) -> Callable[[Req], Awaitable[Response[None] | None]]:
    """The API router's before_request: OPTIONS answered with the documented methods; any
    other request checked against its operation in `document()` (422 when refused)."""

    async def check_request(request: Req) -> Response[None] | None:
        if request.method == "OPTIONS":
            allow = allowed(document(), _documented_path(request))
            return Response(None, status_code=204, headers={"Allow": allow})
        op, schemas = _operation(document(), request)
        if op is None:
            return None
        checker = Checker(schemas)
        checker.if_match = bool(request.headers.get("if-match", "").strip())
        errors: dict[str, str] = _if_match(request)
        _parameters(op, request, checker, errors)
        await _body(op, request, checker, errors)
        if errors:
            raise FormInvalid(errors)
        scope = cast("dict[str, object]", request.scope)
        scope[SCHEMA_CHECKED_KEY] = True
        return None

    return check_request
