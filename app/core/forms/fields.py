"""Field rules: the `Annotated` metadata that says how one form or query field is read.

A rule takes the strings submitted under the field's name and returns the typed value, or
raises `Invalid` with a message that says what to fix. Every text passes `storable` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal

from app.core.forms.text import (
    DOMAIN_RE,
    EMAIL_RE,
    Invalid,
    capitalised,
    clean_text,
    parse_decimal,
    places,
    storable,
)

Source = dict[str, list[str]]
TOKEN_RE = re.compile(r"^[A-Za-z0-9_.~=-]{0,512}$")
CURSOR_RE = re.compile(r"^[\x21-\x7e]{0,1000}$")  # printable ASCII: ids, times, base64
INTEGER_RE = re.compile(r"^[+-]?\d{1,12}$", re.ASCII)
MAX_VERSION = 2_147_483_647
NUMBERS = ("no", "one", "two", "three", "four", "five", "six")


class Rule:
    """How one field is read (subclasses set the label and the checks)."""

    label = "this field"
    many = False  # takes every value of a repeated field
    secret = False  # never shown back in a refused form
    lenient = False  # a bad value falls back to the field's default (query strings)
    hidden = False  # a hidden input: its message goes to the top of the form ("form")
    required = False  # an empty value is refused

    def take(self, source: Source, name: str) -> object:
        """The field's value from the submitted `source` (most rules need only their name)."""
        return self.read(source.get(name, []))

    def one(self, values: list[str]) -> str:
        """The single value of a field that is not repeatable."""
        if len(set(values)) > 1:
            raise Invalid(f"{capitalised(self.label)} was sent more than once. Send it once.")
        return values[0] if values else ""

    def filled(self, values: list[str], missing: str = "") -> str | None:
        """The field's single value, stripped; None when left empty (refused with `missing`,
        or "Enter <label>.", when the field is required)."""
        raw = storable(self.one(values), self.label).strip()
        if not raw and self.required:
            raise Invalid(missing or f"Enter {self.label}.")
        return raw or None

    def read(self, values: list[str]) -> object:
        raise NotImplementedError

    def shown(self, values: list[str]) -> object:
        """What a refused form shows back in this field."""
        return values[-1] if values else ""


class Text(Rule):
    """Trimmed text; on one line (the default) whitespace runs collapse to one space."""

    def __init__(
        self,
        label: str,
        max_length: int = 200,
        *,
        required: bool = False,
        multiline: bool = False,
        message: str = "",
        lenient: bool = False,
    ) -> None:
        self.label, self.max_length, self.required = label, max_length, required
        self.multiline, self.message, self.lenient = multiline, message, lenient

    def read(self, values: list[str]) -> str:
        text = clean_text(self.one(values), self.label, multiline=self.multiline)
        if not text and self.required:
            raise Invalid(self.message or f"Enter {self.label}.")
        if len(text) > self.max_length:
            raise Invalid(
                f"{capitalised(self.label)} can be at most {self.max_length} characters"
                f" (this one has {len(text)})."
            )
        return text


class Password(Rule):
    """A password exactly as typed (never trimmed), never shown back."""

    secret = True

    def __init__(
        self, label: str = "your password", *, required: bool = True, max_length: int = 1024
    ) -> None:
        self.label, self.required, self.max_length = label, required, max_length

    def read(self, values: list[str]) -> str:
        value = storable(self.one(values), self.label)
        if not value and self.required:
            raise Invalid(f"Enter {self.label}.")
        if len(value) > self.max_length:
            raise Invalid(f"Use at most {self.max_length} characters.")
        return value


class Token(Rule):
    """A token from a mailed link; anything else is a broken link."""

    label = "the link"
    hidden = True

    def read(self, values: list[str]) -> str:
        value = self.one(values).strip()
        if not TOKEN_RE.match(value):
            raise Invalid(
                "This link is incomplete or broken. Open it again from the email, or ask for"
                " a new one."
            )
        return value


class Email(Rule):
    """One email address."""

    def __init__(
        self, label: str = "your email address", *, required: bool = True, message: str = ""
    ) -> None:
        self.label, self.required, self.message = label, required, message

    def read(self, values: list[str]) -> str:
        email = self.filled(values, self.message)
        if email is None:
            return ""
        if len(email) > 254 or not EMAIL_RE.match(email):
            raise Invalid("Enter a valid email address, like name@company.com.")
        return email


class Choice(Rule):
    """One of a fixed set of values (a select, radio buttons, a sort order)."""

    def __init__(
        self,
        label: str,
        options: Iterable[str] | Callable[[], Iterable[str]],
        *,
        message: str = "",
        upper: bool = False,
        lenient: bool = False,
        required: bool = True,
    ) -> None:
        self.label, self.options, self.message = label, options, message
        self.upper, self.lenient, self.required = upper, lenient, required

    def read(self, values: list[str]) -> str:
        value = storable(self.one(values), self.label).strip()
        value = value.upper() if self.upper else value
        if not value and not self.required:
            return ""
        options = self.options() if callable(self.options) else self.options
        if value not in options:
            raise Invalid(self.message or f"Choose {self.label} from the list.")
        return value


class Integer(Rule):
    """A whole number within a range."""

    def __init__(
        self,
        label: str,
        minimum: int,
        maximum: int,
        *,
        required: bool = False,
        lenient: bool = False,
        message: str = "",
    ) -> None:
        self.label, self.minimum, self.maximum = label, minimum, maximum
        self.required, self.lenient, self.message = required, lenient, message

    def read(self, values: list[str]) -> int | None:
        raw = self.filled(values, self.message)
        if raw is None:
            return None
        if not INTEGER_RE.match(raw) or not self.minimum <= int(raw) <= self.maximum:
            raise Invalid(
                self.message
                or f"Enter {self.label} as a whole number from {self.minimum:,}"
                f" to {self.maximum:,}."
            )
        return int(raw)


class Amount(Rule):
    """An exact decimal number (money, quantities, rates): never NaN, infinity or 1e9."""

    def __init__(
        self,
        label: str,
        maximum: Decimal,
        *,
        minimum: Decimal = Decimal(0),
        decimals: int = 2,
        default: Decimal | None = None,
        message: str = "",
    ) -> None:
        self.label, self.minimum, self.maximum = label, minimum, maximum
        self.decimals, self.default, self.message = decimals, default, message

    def read(self, values: list[str]) -> Decimal:
        raw = storable(self.one(values), self.label).strip()
        if not raw and self.default is not None:
            return self.default
        value = parse_decimal(raw)
        if value is None or places(value) > self.decimals:
            raise Invalid(
                self.message
                or f"Enter {self.label} as a number with up to {NUMBERS[self.decimals]} decimals,"
                " like 12500.00."
            )
        if value < self.minimum:
            raise Invalid(
                self.message
                or (
                    f"{capitalised(self.label)} can't be negative."
                    if self.minimum == 0
                    else f"{capitalised(self.label)} must be at least {self.minimum}."
                )
            )
        if value > self.maximum:
            raise Invalid(
                self.message
                or f"{capitalised(self.label)} is too large (at most {self.maximum:,})."
            )
        return value


class _Dated(Rule):
    """A date, or a date and time, within sensible years; None when left empty."""

    def __init__(self, label: str, *, first_year: int = 1900, last_year: int = 2200) -> None:
        self.label, self.first_year, self.last_year = label, first_year, last_year

    def parse(self, raw: str) -> date:
        raise NotImplementedError

    def read(self, values: list[str]) -> date | None:
        raw = self.filled(values)
        if raw is None:
            return None
        parsed = self.parse(raw)
        if not self.first_year <= parsed.year <= self.last_year:
            raise Invalid(
                f"Enter {self.label} between the years {self.first_year} and {self.last_year}."
            )
        return parsed


class Day(_Dated):
    """A calendar date (YYYY-MM-DD) within sensible years; None when left empty."""

    def __init__(
        self,
        label: str,
        *,
        first_year: int = 1900,
        last_year: int = 2200,
        required: bool = False,
        message: str = "",
        lenient: bool = False,
    ) -> None:
        super().__init__(label, first_year=first_year, last_year=last_year)
        self.required, self.message, self.lenient = required, message, lenient

    def parse(self, raw: str) -> date:
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise Invalid(self.message or f"Enter {self.label} as a date (YYYY-MM-DD).") from exc


class Moment(_Dated):
    """A wall-clock date and time (YYYY-MM-DDTHH:MM, a datetime-local input), naive: the
    service reads it in the user's time zone (app/core/clock.py); None when left empty."""

    def parse(self, raw: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise Invalid(f"Enter {self.label} as a date and time (YYYY-MM-DD HH:MM).") from exc
        if parsed.tzinfo is not None:
            raise Invalid(f"Enter {self.label} as a date and time (YYYY-MM-DD HH:MM).")
        return parsed.replace(second=0, microsecond=0)


class Flag(Rule):
    """A checkbox: ticked or not."""

    def __init__(self, label: str) -> None:
        self.label = label

    def read(self, values: list[str]) -> bool:
        raw = self.one(values).strip().lower()
        if raw in ("", "0", "off", "false", "no"):
            return False
        if raw in ("1", "on", "true", "yes"):
            return True
        raise Invalid(f"Tick or untick {self.label}.")


class Domain(Rule):
    """A web domain ("https://www.example.com/x" is read as example.com)."""

    label = "the domain"

    def read(self, values: list[str]) -> str | None:
        raw = storable(self.one(values), self.label).strip().lower()
        raw = re.sub(r"^https?://", "", raw).split("/")[0].removeprefix("www.")
        if not raw:
            return None
        if len(raw) > 253 or not DOMAIN_RE.match(raw):
            raise Invalid("Enter a domain like example.com.")
        return raw


class Version(Rule):
    """The version of the record the form was filled from (optimistic locking)."""

    label = "the version"
    hidden = True
    STALE_FORM = "This form is out of date. Reload the page and make your change again."

    def read(self, values: list[str]) -> int:
        raw = self.one(values).strip()
        if not INTEGER_RE.match(raw) or not 1 <= int(raw) <= MAX_VERSION:
            raise Invalid(self.STALE_FORM)
        return int(raw)


class Cursor(Rule):
    """A keyset-pagination cursor; a malformed one shows the first page."""

    label = "the page"
    lenient = True

    def read(self, values: list[str]) -> str:
        raw = self.one(values)
        if not CURSOR_RE.match(raw):
            raise Invalid("That page link is broken.")
        return raw
