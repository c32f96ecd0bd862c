"""What a kind of CSV import declares (its fields, the header names guessed for them, how a row
is checked and stored, what to do with rows already known) and the registry of kinds.

The crm domain declares contacts and companies (app/crm/import_rows.py); a higher domain adds
its kind at start-up with `register_import_kind` (deals: app/deals/imports.py). The machinery
(upload, mapping, the job in batches, progress, error report) is the same for every kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

RowValues = dict[str, Any]  # a checked row: its fields by name, as `store` takes them


class Batch:
    """Checked rows of one batch and the failed ones (row number, reason, cells)."""

    def __init__(self) -> None:
        self.good: list[RowValues] = []
        self.good_rows: list[tuple[int, list[str]]] = []  # row number and cells of each good row
        self.failed: list[tuple[int, str, list[str]]] = []
        self.companies_created = 0  # by `store` or `prepare`, for rows naming a new company

    def stop_before(self, room: int) -> int:
        """Keep the first `room` good rows and the failures before the first row that does not
        fit (the plan's record limit); returns the number of the last row handled."""
        first_left_out = self.good_rows[room][0]
        del self.good[room:], self.good_rows[room:]
        self.failed = [f for f in self.failed if f[0] < first_left_out]
        return first_left_out - 1

    def sift(self, verdicts: list[str | bool | None]) -> None:
        """One verdict per good row: None keeps it, a text fails it with that reason, False
        drops it (a row already known, skipped: neither imported nor failed)."""
        kept: list[RowValues] = []
        kept_rows: list[tuple[int, list[str]]] = []
        for data, (number, cells), verdict in zip(self.good, self.good_rows, verdicts, strict=True):
            if verdict is None:
                kept.append(data)
                kept_rows.append((number, cells))
            elif isinstance(verdict, str):
                self.failed.append((number, verdict, cells))
        self.good, self.good_rows = kept, kept_rows
        self.failed.sort(key=lambda f: f[0])


# (connection, tenant id, importing user, batch, on_duplicate): settle rows against the database
Prepare = Callable[[asyncpg.Connection, UUID, UUID | None, Batch, str], Awaitable[None]]
# (connection, tenant id, importing user, batch): insert the batch's good rows
Store = Callable[[asyncpg.Connection, UUID, UUID | None, Batch], Awaitable[None]]


@dataclass(frozen=True)
class Target:
    """A field a column can be mapped to, with the header names (lower case) guessed for it."""

    field: str
    label: str
    headers: frozenset[str]


def target(field: str, label: str, headers: set[str]) -> Target:
    """`field`, offered as `label`, guessed for a column named like it (`first_name`: "first
    name") or one of `headers` (lower case)."""
    return Target(field, label, frozenset({field.replace("_", " "), *headers}))


@dataclass(frozen=True)
class ImportKind:
    """One kind of record a CSV file can be imported as."""

    name: str  # the URL and crm_imports.kind value: "contacts"
    label: str  # "Contacts"
    fields: tuple[Target, ...]  # offered for each column, in this order
    required: frozenset[str]  # a column must be mapped to one of these
    required_message: str  # said when none is
    check_row: Callable[[dict[str, str]], RowValues]  # {field: cell} -> values; FormInvalid
    store: Store
    # run in the batch's transaction before the plan's limit and `store`: match rows to records
    # the workspace has, fail or drop rows (Batch.sift)
    prepare: Prepare | None = None
    # what to do with rows of records already there: (value, label), the first is the default
    duplicates: tuple[tuple[str, str], ...] = ()
    duplicates_legend: str = ""
    counts_records: bool = True  # each imported row is a contact or company (the plan's limit)
    note: str = ""  # how rows are matched and what is created, said on the mapping page
    # a guessed field dropped when one of these was guessed too (full name vs first/last)
    guess_drops: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """(field, label) of each target."""
        return tuple((t.field, t.label) for t in self.fields)

    @property
    def default_duplicate(self) -> str:
        return self.duplicates[0][0] if self.duplicates else "create"


_registered: dict[str, ImportKind] = {}


def register_import_kind(kind: ImportKind) -> None:
    """Offer `kind` on the import pages and in the job (once, at start-up: domain wiring)."""
    _registered[kind.name] = kind


def registered_kinds() -> list[ImportKind]:
    """The kinds higher domains registered, in registration order."""
    return list(_registered.values())
