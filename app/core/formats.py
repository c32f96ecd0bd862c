"""Dates, times, numbers and money as the person reading them expects: their time zone (IANA)
and their locale (a small supported set), read from the request's context.

The signed-in user's choice is put in place once per request (`use`, called where the request
learns who is asking); pages, htmx fragments and pushes rendered in that request then read it
through the template filters `date`, `datetime`, `time`, `number`, `amount` and `money`.
Without a choice: UTC and en-GB. Code that decides "today" or "overdue" asks `today()`.
"""

from __future__ import annotations

import functools
import zoneinfo
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import NamedTuple

from babel import Locale, numbers
from babel import dates as babel_dates

DEFAULT_ZONE = "UTC"
DEFAULT_LOCALE = "en-GB"
# the supported locales, as people pick them (code -> name in its own language)
LOCALES: dict[str, str] = {
    "en-GB": "English (United Kingdom)",
    "en-US": "English (United States)",
    "de-DE": "Deutsch (Deutschland)",
    "fr-FR": "Français (France)",
    "es-ES": "Español (España)",
    "nl-NL": "Nederlands (Nederland)",
}
# English pages keep the amount-then-ISO-code form ("1,234.50 EUR": "$" is several currencies);
# the others write money as their locale does ("1.234,50 €").
_CODE_AFTER = "#,##0.00\xa0¤¤"
_MONEY_PATTERN = {"en-GB": _CODE_AFTER, "en-US": _CODE_AFTER}


class Prefs(NamedTuple):
    time_zone: str
    locale: str


DEFAULT = Prefs(DEFAULT_ZONE, DEFAULT_LOCALE)
_prefs: ContextVar[Prefs] = ContextVar("odex_formats", default=DEFAULT)


@functools.cache
def time_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows."""
    return frozenset(zoneinfo.available_timezones())


def valid_zone(name: str) -> bool:
    return name in time_zones()


@functools.cache
def _zone(name: str) -> tzinfo:
    return zoneinfo.ZoneInfo(name)


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code, sep="-")


def use(time_zone: str | None, locale: str | None) -> Prefs:
    """Read this request's dates and numbers in `time_zone` and `locale` (unknown: defaults)."""
    chosen = Prefs(
        time_zone if time_zone and valid_zone(time_zone) else DEFAULT_ZONE,
        locale if locale in LOCALES else DEFAULT_LOCALE,
    )
    _prefs.set(chosen)
    return chosen


def current() -> Prefs:
    return _prefs.get()


def zone() -> tzinfo:
    return _zone(_prefs.get().time_zone)


def now() -> datetime:
    """Now, in the reader's zone."""
    return datetime.now(zone())


def today(time_zone: str | None = None) -> date:
    """The reader's today, or today in `time_zone` (a task due today is not overdue in Tokyo
    at 08:00 while UTC is still on yesterday)."""
    if time_zone and valid_zone(time_zone):
        return datetime.now(_zone(time_zone)).date()
    return now().date()


def local(value: datetime) -> datetime:
    """`value` in the reader's zone (a naive value is taken as UTC, as the database keeps it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone())


def _babel() -> Locale:
    return _locale(_prefs.get().locale)


def format_date(value: date | datetime | None, format: str = "medium") -> str:
    """2026-12-31 -> "31 Dec 2026" (en-GB), "31.12.2026" (de-DE); a timestamp by its local day.

    `format`: short, medium, long, full, or a CLDR pattern."""
    if value is None:
        return ""
    day = local(value).date() if isinstance(value, datetime) else value
    return _date_text(day, format, _prefs.get().locale)


# Formatting through babel costs tens of microseconds a call, and a board or a list formats
# the same few dates and amounts hundreds of times: the text of a (value, format, locale) never
# changes, so it is kept (bounded). Numbers are keyed by type and text too: 1, 1.0 and
# Decimal("1.00") are equal keys to Python but not the same number to show.
@functools.lru_cache(maxsize=4096)
def _date_text(day: date, format: str, code: str) -> str:
    return babel_dates.format_date(day, format, locale=_locale(code))


def format_time(value: datetime | None, format: str = "short") -> str:
    if value is None:
        return ""
    prefs = _prefs.get()
    return _time_text(value, format, prefs.time_zone, prefs.locale)


@functools.lru_cache(maxsize=4096)
def _time_text(value: datetime, format: str, zone_name: str, code: str) -> str:
    return babel_dates.format_time(_in_zone(value, zone_name), format, locale=_locale(code))


def _in_zone(value: datetime, zone_name: str) -> datetime:
    """`local` for a zone given by name (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(zone_name))


def format_datetime(value: datetime | date | None, format: str = "medium") -> str:
    """A moment as the reader's local date and time: "2 Dec 2026, 18:05" (en-GB); a plain
    date as a date."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return format_date(value, format if format in ("short", "medium", "long") else "medium")
    prefs = _prefs.get()
    return _datetime_text(value, format, prefs.time_zone, prefs.locale)


# Timelines show the same moments on every view: kept like dates (an instant is the same key
# in any zone it is written in, and gives the same text in the reader's zone).
@functools.lru_cache(maxsize=4096)
def _datetime_text(value: datetime, format: str, zone_name: str, code: str) -> str:
    moment, locale = _in_zone(value, zone_name), _locale(code)
    if format in ("short", "medium", "long", "full"):
        pattern = locale.datetime_formats[format if format != "full" else "long"]
        day = babel_dates.format_date(moment.date(), format, locale=locale)
        clock = babel_dates.format_time(moment, "short", locale=locale)
        return str(pattern).replace("{1}", day).replace("{0}", clock).replace("'", "")
    return babel_dates.format_datetime(moment, format, tzinfo=_zone(zone_name), locale=locale)


def format_number(value: Decimal | float | int | None, digits: int | None = None) -> str:
    """1234 -> "1,234" (en-GB), "1.234" (de-DE); `digits` fixes the decimals."""
    if value is None:
        return ""
    return _number_text(type(value).__name__, str(value), value, digits, _prefs.get().locale)


@functools.lru_cache(maxsize=4096)
def _number_text(
    kind: str, text: str, value: Decimal | float | int, digits: int | None, code: str
) -> str:
    if digits is None:  # every digit it has (a quantity of 1.2345 stays that)
        return numbers.format_decimal(value, locale=_locale(code), decimal_quantization=False)
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return numbers.format_decimal(value, pattern, locale=_locale(code), decimal_quantization=True)


def format_amount(value: Decimal | float | int) -> str:
    """12500 -> "12,500.00" (en-GB), "12.500,00" (de-DE)."""
    return format_number(value, 2)


def format_money(value: Decimal | float | int, currency: str) -> str:
    """1234.5, "EUR" -> "1,234.50 EUR" (English), "1.234,50 €" (de-DE)."""
    return _money_text(type(value).__name__, str(value), value, currency, _prefs.get().locale)


@functools.lru_cache(maxsize=4096)
def _money_text(
    kind: str, text: str, value: Decimal | float | int, currency: str, code: str
) -> str:
    pattern = _MONEY_PATTERN.get(code)
    try:
        shown = numbers.format_currency(
            value, currency, pattern, locale=_locale(code), currency_digits=pattern is None
        )
    except (numbers.UnknownCurrencyError, ValueError):  # pragma: no cover - checked codes
        return f"{format_amount(value)} {currency}"
    return shown.replace("\xa0", " ")
