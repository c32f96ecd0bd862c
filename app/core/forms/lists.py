"""Field rules for records picked from a list and for fields that hold several values."""

from __future__ import annotations

import re
import uuid

from app.core.forms.fields import Rule, Source
from app.core.forms.text import (
    EMAIL_RE,
    PHONE_RE,
    Invalid,
    clean_text,
    split_items,
    storable,
)


class Ref(Rule):
    """The id of a record picked from a list; None when nothing was picked."""

    def __init__(
        self, message: str, *, required: bool = False, label: str = "", lenient: bool = False
    ) -> None:
        self.message, self.required, self.lenient = message, required, lenient
        self.label = label or "the choice"

    def read(self, values: list[str]) -> uuid.UUID | None:
        raw = self.one(values).strip()
        if not raw:
            if self.required:
                raise Invalid(self.message)
            return None
        try:
            return uuid.UUID(raw)
        except ValueError as exc:
            raise Invalid(self.message) from exc


class Refs(Rule):
    """Several record ids from a multiple select (repeated fields), each once."""

    many = True

    def __init__(
        self, message: str, max_items: int, *, label: str = "", too_many: str = ""
    ) -> None:
        self.message, self.max_items, self.label = message, max_items, label or "the choices"
        self.too_many = too_many or f"Choose at most {max_items}."

    def read(self, values: list[str]) -> list[uuid.UUID]:
        ids: dict[uuid.UUID, None] = {}
        for raw in values:
            if raw.strip():
                try:
                    ids[uuid.UUID(raw.strip())] = None
                except ValueError as exc:
                    raise Invalid(self.message) from exc
        if len(ids) > self.max_items:
            raise Invalid(self.too_many)
        return list(ids)

    def shown(self, values: list[str]) -> list[str]:
        return values


class Items(Rule):
    """A list typed as comma, semicolon or newline separated text (or repeated fields)."""

    many = True
    max_items = 10
    too_many = ""

    def check(self, item: str) -> str | None:
        """Why one item is refused, or None."""
        return None

    def read(self, values: list[str]) -> list[str]:
        for value in values:
            storable(value, self.label)
        items = split_items(values)
        if len(items) > self.max_items:
            raise Invalid(self.too_many)
        for item in items:
            problem = self.check(item)
            if problem:
                raise Invalid(problem)
        return items

    def shown(self, values: list[str]) -> str:
        return ", ".join(values)


class Emails(Items):
    label = "the email addresses"
    too_many = f"Enter at most {Items.max_items} email addresses."

    def check(self, item: str) -> str | None:
        if len(item) > 254 or not EMAIL_RE.match(item):
            return f"“{item[:60]}” is not a valid email address (like name@company.com)."
        return None


class Phones(Items):
    label = "the phone numbers"
    too_many = f"Enter at most {Items.max_items} phone numbers."

    def check(self, item: str) -> str | None:
        if not PHONE_RE.match(item) or sum(c.isdigit() for c in item) < 3:
            return f"“{item[:40]}” is not a phone number: use digits, spaces, + ( ) - ."
        return None


class Tags(Items):
    label = "the tags"
    max_items = 20
    too_many = "Use at most 20 tags."

    def check(self, item: str) -> str | None:
        return "A tag can be at most 50 characters." if len(item) > 50 else None


class Numbered(Rule):
    """Fields named `<prefix><n>` (one per column of an uploaded file): {n: trimmed text}."""

    many = True

    def __init__(self, prefix: str, max_count: int, label: str) -> None:
        self.prefix, self.max_count, self.label = prefix, max_count, label
        self.key = re.compile(rf"^{re.escape(prefix)}(\d{{1,4}})$", re.ASCII)

    def take(self, source: Source, name: str) -> dict[int, str]:
        found: dict[int, str] = {}
        errors: dict[str, str] = {}
        for key, values in source.items():
            match = self.key.match(key)
            if match and int(match.group(1)) < self.max_count:
                try:
                    found[int(match.group(1))] = clean_text(self.one(values), self.label)
                except Invalid as exc:
                    errors[key] = exc.message
        if errors:
            raise Invalid("", fields=errors)
        return found
