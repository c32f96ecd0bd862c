"""Between stored records and forms, the one home of it: a read form's stored fields
(`form_data`) and a record's values as its edit form shows them (`form_values`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any


def form_data(form: object, fields: Iterable[str]) -> dict[str, Any]:
    """The stored fields of a read form (its attributes `fields`, never its version)."""
    return {name: getattr(form, name) for name in fields}


def form_text(value: object) -> str:
    """A stored value as a form field shows it: none empty, lists comma-separated, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def form_values(row: Mapping[str, object], fields: Iterable[str]) -> dict[str, str]:
    """`fields` of a record as its edit form shows them (see `form_text`)."""
    return {name: form_text(row[name]) for name in fields}
