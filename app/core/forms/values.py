"""Between stored records and forms, the one home of it: a read form's stored fields
(`form_data`) and a record's values as its edit form shows them (`form_values`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from uuid import UUID


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


def chosen_ids(*values: object) -> list[UUID]:
    """The record ids a form shows as chosen (one value, a list of them, or comma-separated
    text from a refused form), for its pickers' labels; what is not an id is left out."""
    found: list[UUID] = []
    for value in values:
        items = value if isinstance(value, list | tuple) else str(value or "").split(",")
        for item in items:
            try:
                found.append(UUID(str(item).strip()))
            except ValueError:
                continue
    return found
