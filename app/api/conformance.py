"""The API's OpenAPI document made to say exactly what the API accepts and answers.

Litestar generates the document from the handlers' msgspec Structs, which know JSON types only.
The rules the pages' forms apply (app/core/forms: lengths, trimmed text, no control characters,
choices, ranges, formats) are added here, from the very `Rule` objects, to the request bodies
they read: a body Struct is `bind()`-ed to the form Structs it is parsed into (Resource does it
for its own bodies), or names a rule on a field itself (`Annotated[str, Choice(...)]`). Each
operation gets its error statuses, the If-Match header where a version is named, and the body
it really requires (a create's required fields, an update's version).

app/api/enforce.py then checks every request against this same document, so that what the
schema refuses the API refuses (422), and what it accepts only a data-dependent refusal
(a stale version, a record not in the workspace, a status change not allowed now) stops (409).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, get_args, get_origin, get_type_hints

import msgspec

from app.api.answers import etag, links, problems
from app.core.forms import (
    Amount,
    Choice,
    Email,
    Emails,
    Form,
    Integer,
    Phones,
    Refs,
    Rule,
    Tags,
    Text,
    Version,
)
from app.core.forms.fields import MAX_VERSION

Schema = dict[str, object]
METHODS = ("get", "post", "put", "patch", "delete")
# characters no stored text may hold (app/core/forms/text.py CONTROL_RE): C0 but tab, newline
# and carriage return, DEL, C1
CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
# what str.split() trims (outside the controls above)
SPACE = r"\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
STORABLE = f"^[^{CONTROL}]*$"
FILLED = f"^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$"
# EMAIL_RE with its whitespace spelled out (a schema's \s is ECMA's, not Python's) and without
# the separators of a list typed as text
EMAIL_ITEM = (
    f'^[^@<>",;{CONTROL}{SPACE}]{{1,64}}@[A-Za-z0-9](?:[A-Za-z0-9-]{{0,62}}\\.)+[A-Za-z]{{2,63}}$'
)
CUSTOM_TEXT_MAX = 2000  # app/crm/custom_values.py TEXT_MAX
PHONE_SEP = r"[ ()./\-]"
PHONE_ITEM = rf"^\+?{PHONE_SEP}*[0-9]{PHONE_SEP}*[0-9]{PHONE_SEP}*[0-9][0-9 ()./\-]*$"
TAG_ITEM = f"^[^{CONTROL},;]*[^{CONTROL}{SPACE},;][^{CONTROL},;]*$"
IF_MATCH_NOTE = (
    'Instead of `version`, the ETag read may be sent as an `If-Match: "3"` header (it wins'
    " over `version`); a version that is no longer current answers 409 with the current one."
)
VERSION_NOTE = (
    "The version read (the ETag of the record). Send it here or as an If-Match header; a"
    " version that is no longer current answers 409."
)

_BOUND: dict[type[msgspec.Struct], tuple[tuple[type[Form], ...], tuple[type[Form], ...]]] = {}


def bind(
    body: type[msgspec.Struct], *forms: type[Form], create: tuple[type[Form], ...] = ()
) -> None:
    """`body` (a request Struct) is read by `forms`: their rules are its fields' constraints;
    a POST of it must carry the fields `create` (forms) have no default for."""
    before, made = _BOUND.get(body, ((), ()))
    _BOUND[body] = ((*before, *forms), (*made, *create))


def _rule_of(kind: object) -> Rule | None:
    if get_origin(kind) is Annotated:
        return next((m for m in get_args(kind)[1:] if isinstance(m, Rule)), None)
    return None


def _fields(struct: type[msgspec.Struct]) -> dict[str, object]:
    return get_type_hints(struct, include_extras=True)


def rules_of(body: type[msgspec.Struct]) -> dict[str, Rule]:
    """Each field's rule: its own Annotated one, else the first bound form's."""
    found: dict[str, Rule] = {}
    forms, _ = _BOUND.get(body, ((), ()))
    for name, kind in _fields(body).items():
        rule = _rule_of(kind)
        for form in forms:
            if rule is None and name in form.__struct_fields__:
                rule = _rule_of(_fields(form)[name])
        if rule is not None:
            found[name] = rule
    return found


def _amount(rule: Amount) -> Schema:
    digits = len(str(int(rule.maximum)))
    sign = "-?" if rule.minimum < 0 else ""
    tail = rf"(\.[0-9]{{1,{rule.decimals}}})?" if rule.decimals else ""
    return {
        "pattern": rf"^{sign}[0-9]{{1,{digits}}}{tail}$",
        "description": f"{rule.label}: a decimal number as text (like 12.50), from"
        f" {rule.minimum} to {rule.maximum}, at most {rule.decimals} decimals",
    }


def constraints(rule: Rule) -> tuple[Schema, Schema]:
    """(the value's constraints, the constraints of each item when it is a list)."""
    label = rule.label
    if isinstance(rule, Text):
        filled = rule.required
        return {
            "maxLength": rule.max_length,
            "pattern": FILLED if filled else STORABLE,
            "description": f"{label}: text of at most {rule.max_length} characters"
            f"{', not blank' if filled else ''}, no control characters",
        }, {}
    if isinstance(rule, Choice):
        options = rule.options() if callable(rule.options) else rule.options
        found = [*([] if rule.required else [""]), *options]
        return {"enum": found, "description": f"{label}: one of the listed values"}, {}
    if isinstance(rule, Integer):
        return {"minimum": rule.minimum, "maximum": rule.maximum}, {}
    if isinstance(rule, Version):
        return {"minimum": 1, "maximum": MAX_VERSION, "description": VERSION_NOTE}, {}
    if isinstance(rule, Amount):
        return _amount(rule), {}
    if isinstance(rule, Email):
        pattern = EMAIL_ITEM if rule.required else f"^$|{EMAIL_ITEM}"
        return {"maxLength": 254, "pattern": pattern, "description": f"{label}: an address"}, {}
    if isinstance(rule, Emails):
        items = {"maxLength": 254, "pattern": EMAIL_ITEM, "description": "an email address"}
        return {"maxItems": rule.max_items}, items
    if isinstance(rule, Phones):
        items = {"maxLength": 41, "pattern": PHONE_ITEM, "description": "a phone number"}
        return {"maxItems": rule.max_items}, items
    if isinstance(rule, Tags):
        items = {"maxLength": 50, "pattern": TAG_ITEM, "description": "a tag (no , or ;)"}
        return {"maxItems": rule.max_items}, items
    if isinstance(rule, Refs):
        return {"maxItems": rule.max_items}, {}
    return {}, {}


def _branches(prop: Schema) -> Iterator[Schema]:
    """The non-null schemas of a property (Litestar writes `oneOf` for optional ones)."""
    options = prop.get("oneOf") or prop.get("anyOf")
    for branch in options if isinstance(options, list) else [prop]:
        if isinstance(branch, dict) and branch.get("type") != "null":
            yield branch


def _constrain(component: Schema, body: type[msgspec.Struct]) -> None:
    props = component.get("properties")
    if not isinstance(props, dict):
        return
    for name, rule in rules_of(body).items():
        prop = props.get(name)
        if not isinstance(prop, dict):
            continue
        own, items = constraints(rule)
        for branch in _branches(prop):
            kind = branch.get("type")
            keys: tuple[str, ...] = ("minimum", "maximum") if kind == "integer" else ()
            if kind == "array":
                keys = ("maxItems",)
                inner = branch.get("items")
                if isinstance(inner, dict) and items:
                    inner.update(items)
            elif kind == "string":
                keys = ("maxLength", "pattern", "enum")
            branch.update({k: v for k, v in own.items() if k in keys})
        if own.get("description"):
            prop["description"] = own["description"]
    if isinstance(props.get("custom"), dict):
        props["custom"] = custom_object()
    if body.__struct_config__.forbid_unknown_fields:
        component["additionalProperties"] = False


def custom_object() -> Schema:
    """A write's `custom` object: field key -> value. Which keys and values a workspace takes
    is its own (GET /custom-fields), so only their form is stated: text without control
    characters, numbers, booleans, lists of text, money objects, null (to empty one)."""
    text: Schema = {"type": "string", "maxLength": CUSTOM_TEXT_MAX, "pattern": STORABLE}
    number: Schema = {"type": "number"}
    value = {
        "anyOf": [
            text,
            number,
            {"type": "boolean"},
            {"type": "array", "maxItems": 200, "items": dict(text)},
            {
                "type": "object",
                "maxProperties": 2,
                "additionalProperties": {"anyOf": [dict(text), dict(number)]},
            },
            {"type": "null"},
        ]
    }
    return {
        "type": "object",
        "maxProperties": 500,
        "propertyNames": {"maxLength": 100, "pattern": STORABLE},
        "additionalProperties": value,
        "description": "Custom field values by field key (GET /api/v1/custom-fields); null"
        " empties one. What a workspace's fields take is checked against its data (409).",
    }


def _filled_one_of(body: type[msgspec.Struct]) -> list[Schema]:
    """A create's `anyOf`: one of the fields its forms name in `filled_one_of` is filled."""
    _, forms = _BOUND.get(body, ((), ()))
    return [
        {"required": [name], "properties": {name: {"type": "string", "pattern": FILLED}}}
        for form in forms
        for name in form.filled_one_of
    ]


def _required_on_create(body: type[msgspec.Struct]) -> list[str]:
    _, forms = _BOUND.get(body, ((), ()))
    found: list[str] = []
    for form in forms:
        for field in msgspec.structs.fields(form):
            no_default = field.default is msgspec.NODEFAULT
            if no_default and field.default_factory is msgspec.NODEFAULT:
                found.append(field.encode_name)
    return found


def body_structs(kinds: Iterable[object]) -> dict[str, type[msgspec.Struct]]:
    """{component name: Struct} of the request bodies `kinds` and the Structs nested in them."""
    found: dict[str, type[msgspec.Struct]] = {}

    def visit(kind: object) -> None:
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        for arg in get_args(kind):
            visit(arg)
        if (
            isinstance(kind, type)
            and issubclass(kind, msgspec.Struct)
            and kind.__name__ not in found
        ):
            found[kind.__name__] = kind
            for sub in _fields(kind).values():
                visit(sub)

    for kind in kinds:
        visit(kind)
    return found


def _ref_name(op: Schema) -> str:
    body = op.get("requestBody")
    if not isinstance(body, dict):
        return ""
    content = body.get("content")
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = media.get("schema") if isinstance(media, dict) else None
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ""


def _point(op: Schema, name: str) -> None:
    body = op["requestBody"]
    assert isinstance(body, dict)
    body["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _names(value: object) -> set[str]:
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _body_of_operation(
    method: str, path: str, op: Schema, schemas: Schema, structs: dict[str, type[msgspec.Struct]]
) -> None:
    """The operation's body with the fields it really requires: a create (a POST to a
    collection) what its forms have no default for; a change of a record (PATCH, or a POST
    of an action on it) its version. Copied under a name of its own when it differs from the
    shared one."""
    name = _ref_name(op)
    component = schemas.get(name)
    if not isinstance(component, dict) or name not in structs:
        return
    props = component.get("properties")
    names = set(props) if isinstance(props, dict) else set()
    had = _names(component.get("required"))
    wanted = set(had)
    on_record = "{" in path
    any_of: list[Schema] = []
    if method == "post" and not on_record:
        wanted |= {f for f in _required_on_create(structs[name]) if f in names}
        any_of = _filled_one_of(structs[name])
    elif "version" in names:
        wanted.add("version")
    if wanted == had and not any_of:
        return
    own = copy.deepcopy(component)
    own["required"] = sorted(wanted)
    if any_of:
        own["anyOf"] = any_of
    suffix = "New" if method == "post" and not on_record else "Change"
    own_name = re.sub(r"(In|Patch)?$", suffix, name, count=1)
    own["title"] = own_name
    schemas[own_name] = own
    _point(op, own_name)


def _versioned(op: Schema) -> None:
    params = op.setdefault("parameters", [])
    assert isinstance(params, list)
    for param in params:
        if (
            isinstance(param, dict)
            and param.get("name") == "version"
            and param.get("in") == "query"
        ):
            param["required"] = True
            param["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}
            param["description"] = VERSION_NOTE
    # If-Match is not a declared parameter: it stands in for a required `version`, which a
    # schema can't say (a fuzzer sending it with any value would break that rule)
    op["description"] = f"{op.get('description') or ''} {IF_MATCH_NOTE}".strip()


def conform(document: Schema, bodies: dict[str, type[msgspec.Struct]]) -> None:
    """The rules, required fields, headers and statuses of every operation of `document`
    (`bodies`: the request Structs by component name, see `body_structs`)."""
    components = document.setdefault("components", {})
    assert isinstance(components, dict)
    schemas = components.setdefault("schemas", {})
    assert isinstance(schemas, dict)
    for name, struct in bodies.items():
        component = schemas.get(name)
        if isinstance(component, dict):
            _constrain(component, struct)
    paths = document.get("paths")
    assert isinstance(paths, dict)
    for path, item in paths.items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            has_body = "requestBody" in op
            _body_of_operation(method, path, op, schemas, bodies)
            params = op.get("parameters")
            query = (
                {p.get("name") for p in params if isinstance(p, dict) and p.get("in") == "query"}
                if isinstance(params, list)
                else set()
            )
            body = schemas.get(_ref_name(op))
            versioned = "version" in query or (
                isinstance(body, dict) and "version" in _names(body.get("required"))
            )
            if versioned:
                _versioned(op)
            if method == "get" and "{" in path:
                etag(op, schemas)
            statuses = [401, 403, 422, 429, 500, 503]
            statuses += [400, 413, 415] if has_body else []
            statuses += [404] if "{" in path else []
            statuses += [409] if method != "get" else []
            responses = op.setdefault("responses", {})
            responses.pop("400", None)  # Litestar's own, replaced by the problem one
            problems(op, statuses)
    links(paths)
