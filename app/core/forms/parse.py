"""Reading input into msgspec Structs: every field through its rule, every problem reported."""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Mapping
from typing import Annotated, ClassVar, TypeAlias, TypeVar, Union, get_args, get_origin

import msgspec
from litestar.datastructures import UploadFile
from litestar.datastructures.multi_dicts import MultiMixin
from litestar.exceptions import HTTPException

from app.core.errors import FormInvalid, FormPage, declare_form_page, remember_form_values
from app.core.forms.fields import Rule, Source
from app.core.forms.text import Invalid, capitalised, printable
from app.core.http_types import Req

F = TypeVar("F", bound="Form")
UNREADABLE = "We couldn't read what your browser sent. Reload the page and try again."


class Form(msgspec.Struct, kw_only=True):
    """Base of every form and query Struct: each field is `Annotated[type, Rule(...)]`.

    `problems` adds rules that span fields (checked once every field is valid on its own);
    `filled_one_of` names fields of which one must be filled, a rule across fields the API's
    schema can state (app/api/conformance.py; `problems` still says it for the pages).
    """

    filled_one_of: ClassVar[tuple[str, ...]] = ()

    def problems(self) -> dict[str, str]:
        return {}


@functools.cache
def _rules(schema: type[Form]) -> list[tuple[str, Rule, bool, bool]]:
    """(submitted name, rule, None allowed, has a default) of each field of `schema`."""
    found = []
    for field in msgspec.structs.fields(schema):
        rule = None
        allows_none = False
        kind: object = field.type
        if get_origin(kind) is Annotated:
            kind, *meta = get_args(kind)
            rule = next((m for m in meta if isinstance(m, Rule)), None)
        if get_origin(kind) in (Union, types.UnionType):
            allows_none = type(None) in get_args(kind)
        if rule is None:
            raise TypeError(f"{schema.__name__}.{field.name} has no rule (Annotated[T, Rule])")
        has_default = not (
            field.default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT
        )
        found.append((field.encode_name, rule, allows_none, has_default))
    return found


# what a form is read from: a request's form or query string, or a dict of strings or lists
FormInput: TypeAlias = MultiMixin[object] | Mapping[str, object]


def as_source(data: FormInput) -> tuple[Source, set[str]]:
    """Every submitted name with its values as strings, and the names that carried a file."""
    source: Source = {}
    files: set[str] = set()
    items = data.multi_items() if isinstance(data, MultiMixin) else _pairs(data)
    for name, value in items:
        if isinstance(value, UploadFile):
            files.add(name)
        elif isinstance(value, bytes):
            source.setdefault(name, []).append(value.decode("utf-8", "replace"))
        else:
            source.setdefault(name, []).append(str(value))
    return source, files


def _pairs(data: Mapping[str, object]) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = []
    for name, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, "" if v is None else v) for v in values]
    return pairs


def shown_values(schema: type[Form], source: Source) -> dict[str, object]:
    """The submitted values as a refused form shows them back (secrets left out)."""
    rules = {name: rule for name, rule, _, _ in _rules(schema)}
    shown: dict[str, object] = {}
    for name, values in source.items():
        rule = rules.get(name)
        if rule is not None and rule.secret:
            continue
        safe = [printable(v) for v in values]
        if rule is not None:
            shown[name] = rule.shown(safe)
        else:  # a repeated input without a rule of its own (custom fields' choices) stays a list
            shown[name] = safe[-1] if len(safe) == 1 else safe
    return shown


def parse(schema: type[F], data: FormInput | tuple[Source, set[str]]) -> F:
    """`data` (a form, a query string, a dict of strings or lists) read into `schema`.

    Raises FormInvalid with a message for every field that is wrong, and the values to show.
    """
    source, files = data if isinstance(data, tuple) else as_source(data)
    errors: dict[str, str] = {}
    out: dict[str, object] = {}
    for name, rule, allows_none, has_default in _rules(schema):
        if name not in source and name not in files and has_default and not rule.many:
            continue  # not sent at all: the field's default (sent empty: the rule decides)
        if name in files:
            errors[name] = f"Send {rule.label} as text, not as a file."
            continue
        try:
            value = rule.take(source, name)
        except Invalid as exc:
            if rule.lenient:
                continue
            if rule.hidden:  # the page has no place beside a hidden input for its message
                errors["form"] = " ".join(filter(None, (errors.get("form"), exc.message)))
            else:
                errors.update(exc.fields or {name: exc.message})
            continue
        if value is None and not allows_none:
            continue  # left empty where None isn't a value: the field's default
        out[name] = None if allows_none and value == "" else value  # convert() reads names
    if not errors:
        try:
            form = msgspec.convert(out, type=schema)
        except msgspec.ValidationError as exc:  # a rule returned the wrong type: our bug
            raise TypeError(f"{schema.__name__}: {exc}") from exc
        errors = form.problems()
        if not errors:
            return form
    raise FormInvalid(errors, shown_values(schema, source))


async def read_form(request: Req, schema: type[F], *, page: FormPage | None = None) -> F:
    """The request's form (urlencoded or multipart) read into `schema`; when it is refused,
    the one handler answers with `page` (the form again, inline messages, 422)."""
    if page is not None:
        declare_form_page(request, page)
    try:
        form = await request.form()
    except HTTPException:
        raise  # too large (413), or malformed: answered by the HTTP error handler
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormInvalid({"form": UNREADABLE}) from exc
    source, files = as_source(form)
    source.pop("_csrf", None)
    remember_form_values(request, shown_values(schema, source))
    return parse(schema, (source, files))


def read_query(request: Req, schema: type[F], *, page: FormPage | None = None) -> F:
    """The query string read into `schema` (a bad value: 422 with `page`, or the generic
    page; a lenient field falls back to its default instead)."""
    if page is not None:
        declare_form_page(request, page)
    return parse(schema, request.query_params)


class Rows(Rule):
    """Repeated groups of fields named `<prefix>-<n>-<field>` (invoice lines), each read with
    `schema`; rows left blank are skipped, errors keep the submitted names."""

    many = True

    def __init__(
        self,
        schema: type[Form],
        prefix: str,
        max_rows: int,
        label: str,
        *,
        filled_by: tuple[str, ...] = (),
    ) -> None:
        self.schema, self.prefix, self.max_rows, self.label = schema, prefix, max_rows, label
        self.filled_by = filled_by  # the fields that make a row count (default: any)
        self.key = re.compile(rf"^{re.escape(prefix)}-(\d{{1,4}})-(\w+)$", re.ASCII)

    def take(self, source: Source, name: str) -> list[Form]:
        rows: dict[int, Source] = {}
        for key, vals in source.items():
            match = self.key.match(key)
            if match:
                rows.setdefault(int(match.group(1)), {})[match.group(2)] = vals
        if len(rows) > self.max_rows + 10:  # room for the form's blank rows
            raise Invalid(f"{capitalised(self.label)}: at most {self.max_rows} rows.")
        parsed: list[Form] = []
        errors: dict[str, str] = {}
        for index in sorted(rows):
            row = rows[index]
            keys = self.filled_by or tuple(row)
            if not any(v.strip() for key in keys for v in row.get(key, [])):
                continue
            try:
                parsed.append(parse(self.schema, row))
            except FormInvalid as exc:
                errors.update({f"{self.prefix}-{index}-{k}": v for k, v in exc.errors.items()})
        if errors:
            raise Invalid("", fields=errors)
        return parsed


class Prefixed(Rule):
    """Fields named `<prefix><key>` (one per item the page lists, e.g. a choice per workspace),
    each read with `rule`, as {submitted name: value}; errors keep the submitted names."""

    many = True

    def __init__(self, prefix: str, rule: Rule, max_items: int, label: str) -> None:
        self.prefix, self.rule, self.max_items, self.label = prefix, rule, max_items, label
        self.key = re.compile(rf"^{re.escape(prefix)}[\w-]{{1,64}}$", re.ASCII)

    def take(self, source: Source, name: str) -> dict[str, object]:
        names = [key for key in source if self.key.match(key)]
        if len(names) > self.max_items:
            raise Invalid(f"{capitalised(self.label)}: at most {self.max_items}.")
        found: dict[str, object] = {}
        errors: dict[str, str] = {}
        for key in names:
            try:
                found[key] = self.rule.read(source[key])
            except Invalid as exc:
                errors[key] = exc.message
        if errors:
            raise Invalid("", fields=errors)
        return found
