"""Times as people read them: stored in UTC, shown and typed in the user's time zone.

One filter renders them (`{{ when|local_time(zone) }}`); a form's local date and time
(`<input type="datetime-local">`, read by forms.Moment) becomes UTC with `from_local`. A user
without a zone of their own reads UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"
SHOWN = "%d %b %Y %H:%M"


def zone_info(zone: str | None) -> ZoneInfo:
    """The zone named `zone` (an unknown or missing name: UTC)."""
    try:
        return ZoneInfo(zone or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def user_zone(user: object) -> str:
    """The time zone a user reads times in (their own setting where they have one)."""
    zone = getattr(user, "time_zone", None)
    return zone if isinstance(zone, str) and zone else DEFAULT_ZONE


def from_local(value: datetime, zone: str | None) -> datetime:
    """A wall-clock time typed in `zone` as an aware UTC time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone_info(zone))
    return value.astimezone(UTC)


def in_zone(value: datetime, zone: str | None) -> datetime:
    """An aware time moved into `zone` (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone_info(zone))


def local_time(value: datetime | None, zone: str | None = None, fmt: str = SHOWN) -> str:
    """The template filter: `value` as the user reads it ("" for none)."""
    return "" if value is None else in_zone(value, zone).strftime(fmt)


def local_input(value: datetime | None, zone: str | None = None) -> str:
    """`value` for a datetime-local input's value attribute."""
    return local_time(value, zone, "%Y-%m-%dT%H:%M")
