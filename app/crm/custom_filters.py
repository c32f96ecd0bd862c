"""Custom fields in a list's view: the filters (`cf.<key>` is any of, `cf.<key>.contains`,
`.min` / `.max` (number, money's amount), `.after` / `.before` (date), `.empty` yes/no) and the
chosen columns (`cols`), read by the project's input rules and turned into SQL conditions with
parameters only. The field is found by key among the kind's fields in the same query, so RLS
keeps another workspace's fields out; a value of the wrong shape never reaches a cast."""

from __future__ import annotations

import re
from datetime import date

from app.core.forms import Choice, Invalid, parse_decimal
from app.core.forms.fields import Rule, Source
from app.core.forms.text import storable
from app.core.paging import Params, like_pattern

FILTER_RE = re.compile(r"^cf\.([a-z][a-z0-9_]{0,39})(?:\.(contains|min|max|after|before|empty))?$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FILTERS = 60
VALUE_MAX = 200
NUMBER_SQL = r"^-?[0-9]{1,15}(\.[0-9]+)?$"
DATE_SQL = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class CustomFilters(Rule):
    """The view's custom field filters: {"<key>" or "<key>.<op>": values}, empty ones left out;
    a bad number, date or yes/no is refused with a message."""

    label = "the custom field filters"
    many = True

    def take(self, source: Source, name: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for sent, values in source.items():
            match = FILTER_RE.match(sent)
            if not sent.startswith("cf."):
                continue
            if match is None:
                raise Invalid(f"There is no filter “{sent[:40]}”. Remove it from the address.")
            op = match.group(2) or ""
            kept = [_checked(op, storable(v, "a filter").strip()) for v in values]
            kept = [v for v in kept if v]
            if kept:
                found[sent.removeprefix("cf.")] = kept[:50]
        if len(found) > MAX_FILTERS:
            raise Invalid(f"Use at most {MAX_FILTERS} custom field filters.")
        return found


def _checked(op: str, value: str) -> str:
    if not value:
        return ""
    if len(value) > VALUE_MAX:
        raise Invalid(f"A filter's value can be at most {VALUE_MAX} characters.")
    if op in ("min", "max"):
        number = parse_decimal(value)
        if number is None:
            raise Invalid(f"Enter a number for the filter (not “{value[:20]}”).")
        return str(number)
    if op in ("after", "before"):
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise Invalid(f"Enter the filter's date as YYYY-MM-DD (not “{value[:20]}”).") from exc
    if op == "empty" and value not in ("yes", "no"):
        raise Invalid("Choose yes or no for the “is empty” filter.")
    return value


class SortChoice(Choice):
    """A list's order: one of its columns, or `cf.<key>`, a custom field's column (whether the
    field is there and shown is the list's to check: app/crm/custom_sort.py)."""

    def read(self, values: list[str]) -> str:
        value = storable(self.one(values), self.label).strip()
        if not value.startswith("cf."):
            return super().read(values)
        if not KEY_RE.match(value.removeprefix("cf.")):
            raise Invalid(f"Choose {self.label} from the list.")
        return value


class ColumnKeys(Rule):
    """The custom fields shown as the list's columns, by key."""

    label = "the columns"
    many = True

    def take(self, source: Source, name: str) -> list[str]:
        keys: list[str] = []
        for value in source.get(name, []):
            for key in value.split(","):
                key = key.strip()
                if key and not KEY_RE.match(key):
                    raise Invalid("Choose the columns from the list.")
                if key and key not in keys:
                    keys.append(key)
        if len(keys) > 20:
            raise Invalid("Show at most 20 custom columns.")
        return keys


def custom_where(filters: dict[str, list[str]], kind: str, params: Params, alias: str) -> list[str]:
    """The SQL conditions of the custom field `filters` on records of `kind` (table `alias`)."""
    where = []
    for name, values in sorted(filters.items()):
        key, _, op = name.partition(".")
        field_id = (
            f"(select f.id::text from custom_fields f where f.object_kind = {params.add(kind)}"
            f" and f.key = {params.add(key)} and f.archived_at is null)"
        )
        value = f"{alias}.custom_values -> {field_id}"
        text = f"coalesce({value} ->> 'amount', {alias}.custom_values ->> {field_id})"
        if op == "contains":
            where.append(f"lower({text}) like {params.add(like_pattern(values[0]))}")
        elif op in ("min", "max"):
            number = f"(case when {text} ~ '{NUMBER_SQL}' then {text}::numeric end)"
            sign = ">=" if op == "min" else "<="
            where.append(f"{number} {sign} {params.add(parse_decimal(values[0]))}")
        elif op in ("after", "before"):
            day = f"(case when {text} ~ '{DATE_SQL}' then {text}::date end)"
            sign = ">=" if op == "after" else "<="
            where.append(f"{day} {sign} {params.add(date.fromisoformat(values[0]))}")
        elif op == "empty":
            empty = f"coalesce({alias}.custom_values ->> {field_id}, '') in ('', '[]')"
            where.append(empty if values[0] == "yes" else f"not ({empty})")
        else:  # is any of: a choice, a member, a text; yes/no for a checkbox
            wanted = params.add(values)
            where.append(
                f"(coalesce({value} ?| {wanted}::text[], false)"
                f" or ({value} = 'true'::jsonb and 'yes' = any({wanted}::text[]))"
                f" or (coalesce({value}, 'false'::jsonb) = 'false'::jsonb"
                f" and 'no' = any({wanted}::text[])))"
            )
    return where
