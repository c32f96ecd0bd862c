"""The data map: every place personal data lives, declared by the domain that owns it.

Each domain declares its places as data in ``app/<domain>/datamap.toml`` (tables and columns,
files under the data directory, Redis keys, mail bodies, backups): whose data it is, how long
it is kept, and how the five privacy features treat it — access ("My data"), export, the
erasure of one contact, the deletion of an account and the purge of a workspace — and the
export files it writes. A place also names the code of those treatments (``read``,
``erase``, ``forget_user``, ``purge``) and of the deletion report's check (``scan``), given by
role in the domain's ``TREATMENTS`` (``app/<domain>/datamap.py``), so the privacy domain runs
them without importing any domain's internals. The files are decoded and checked when the map
is first used (a name that resolves to nothing fails; tests/core/test_datamap_files.py). The
catalogue test (tests/core/test_tenancy.py) fails when a table, a file kind or a Redis key
family is not on the map.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import importlib.util
import zipfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

# the runtime helpers the domains' map entries use, kept importable from here
from app.core.datamap_scan import (
    count_in_each_tenant as count_in_each_tenant,
)
from app.core.datamap_scan import (
    data_dir as data_dir,
)
from app.core.datamap_scan import (
    in_each_tenant as in_each_tenant,
)
from app.core.datamap_scan import (
    joined as joined,
)
from app.core.datamap_scan import (
    like_any as like_any,
)
from app.core.datamap_scan import (
    redis_keys as redis_keys,
)
from app.core.datamap_scan import (
    redis_keys_holding as redis_keys_holding,
)
from app.core.datamap_scan import (
    redis_value as redis_value,
)
from app.core.datamap_scan import (
    tenant_folders as tenant_folders,
)
from app.core.datamap_scan import (
    time_page as time_page,
)
from app.core.datamap_scan import (
    utc as utc,
)
from app.core.domain import DOMAIN_NAMES
from app.core.paging import NEWEST_FIRST as NEWEST_FIRST

KINDS = ("table", "file", "redis", "mail", "backup")
HOLDERS = ("user", "contact", "workspace", "visitor", "platform")


@dataclass(frozen=True)
class Subject:
    """Whose data a deletion or a deletion report is about.

    A user (their id, every address they had, the workspaces they belonged to) or a
    workspace (its id). Never stored: the deletion report keeps only what it found.
    """

    user_id: UUID | None = None
    emails: tuple[str, ...] = ()
    tenant_ids: tuple[UUID, ...] = ()
    workspace_id: UUID | None = None
    names: tuple[str, ...] = ()  # to blank "Name (address)" labels; not searched for

    @property
    def needles(self) -> list[str]:
        """The strings whose presence in text means the subject's data is still there."""
        found = [str(self.user_id)] if self.user_id else []
        found += [str(self.workspace_id)] if self.workspace_id else []
        return found + [e.lower() for e in self.emails if e]


@dataclass(frozen=True)
class ContactRef:
    """The contact an erasure is about, with what identifies them in free text."""

    tenant_id: UUID
    contact_id: UUID
    first_name: str
    last_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Viewer:
    """Who is reading their own data on the My data page (and from which browser)."""

    user_id: UUID
    tenant_id: UUID
    email: str
    session_key: str | None = None  # the Redis key of this browser's session
    visitor_id: str | None = None  # this browser's consent id


@dataclass
class Section:
    """One part of the "My data" page: a titled table of rows and where the next page starts."""

    title: str
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[dict[str, object]]
    total: int | None = None
    next_after: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ExportColumn:
    """A column of an export file, with what it means (written to the manifest and README)."""

    name: str
    description: str


@dataclass(frozen=True)
class SealedList:
    """An export column filled from a text[] of ciphertexts (app/core/crypto.py): each row's
    values decrypted (bound to ``table``.``column`` of the row whose id the query selects as
    ``row``, in the workspace it selects as ``tenant``) and joined with '; '. Declared rather
    than opened by the domain, so the export can decrypt it in its pool of processes."""

    name: str  # the column of the file (the query selects a placeholder for it)
    source: str  # the query's column of ciphertexts, e.g. "_emails"
    table: str
    column: str
    tenant: str = "_tenant"
    row: str = "_id"


@dataclass(frozen=True)
class ExportFile:
    """One CSV file of the export, produced by ``COPY (sql) TO STDOUT`` (or a cursor).

    ``sql`` selects exactly ``columns`` (aliased with their names); ``$1`` is the requester's
    user id. ``workspace_where`` / ``own_where`` filter the rows for an admin's workspace
    export and for a member's own-data export (None: the file is not in that export).
    ``decrypt`` names columns holding ciphertext: the rows are then read through a cursor and
    opened by ``opener`` (the owning domain's decryption, given a chunk of records: the values
    of the columns it fills, a list of one value a record for each column's name). Lists of
    ciphertexts are better declared as ``sealed`` columns: a file whose only encrypted columns
    are those is read by COPY and decrypted in a pool of processes (app/privacy/export_pool.py).
    """

    name: str
    description: str
    sql: str
    columns: tuple[ExportColumn, ...]
    workspace_where: str | None = "true"
    own_where: str | None = None
    order_by: str = ""
    opener: Callable[[Sequence[Mapping[str, Any]]], dict[str, list[object]]] | None = None
    # values for $2, $3...
    extra_args: Callable[[dict[str, object]], Sequence[object]] | None = None
    # the record kind whose custom fields follow the columns, one a field, named by its label
    # (the query then selects the record's custom_values as text, as "_custom")
    custom_kind: str | None = None
    # columns decrypted from lists of ciphertexts (see SealedList)
    sealed: tuple[SealedList, ...] = ()


Reader = Callable[[Viewer, "str | None", int], Awaitable[Section]]
# Writes a place's files as they are (not CSV) into an export zip: (archive, tenant id,
# requester's user id, scope "workspace" or "own") -> one manifest entry per file written.
FileWriter = Callable[[zipfile.ZipFile, UUID, UUID, str], Awaitable[list[dict[str, object]]]]
Scanner = Callable[[Subject], Awaitable[list[str]]]


@dataclass(frozen=True)
class Place:
    """A place where personal data lives, and how each privacy feature treats it.

    The five treatment texts (``access`` … ``workspace_purge``) are what the privacy page and
    the README promise; the callables are the code that keeps the promise.
    """

    name: str  # unique: "table:contacts", "file:imports", "redis:sessions", …
    kind: str  # one of KINDS
    owner: str  # the domain that registered it
    holds: tuple[str, ...]  # whose data (HOLDERS)
    what: str  # the personal data in it
    retention: str
    access: str
    export: str
    erasure: str  # erasure of one contact's data
    account_deletion: str
    workspace_purge: str
    table: str | None = None
    tenant_scoped: bool = False  # a tenant table (RLS): the purge deletes its rows generically
    user_columns: tuple[str, ...] = ()  # columns holding a user id
    workspace_columns: tuple[str, ...] = ()  # columns of a global table holding a workspace id
    text_columns: tuple[str, ...] = ()  # free text where an address or id may appear
    pattern: str | None = None  # a Redis key pattern or a path (glob) under the data dir
    also: tuple[str, ...] = ()  # more key patterns / paths of the same place
    kept: str = ""  # why a deleted subject's data stays here (the report lists, not flags, it)
    read: Reader | None = None
    exports: tuple[ExportFile, ...] = ()
    export_files: FileWriter | None = None  # files put into the export zip as they are
    identify: Callable[[UUID, UUID], Awaitable[ContactRef | None]] | None = None
    erase: Callable[[ContactRef], Awaitable[int]] | None = None
    forget_user: Callable[[Subject], Awaitable[int]] | None = None
    purge: Callable[[UUID], Awaitable[int]] | None = None
    scan: Scanner | None = None
    expire: Callable[[], Awaitable[int]] | None = None  # the daily retention sweep
    order: int = 100  # handlers run in ascending order (e.g. outbox after the rows that mail)
    shown: int = 100  # where its section comes on the My data page


_PLACES: dict[str, Place] = {}


def register(place: Place) -> Place:
    """Put a place on the map (the loader does, for each place of the domains' map files)."""
    if place.kind not in KINDS:
        raise ValueError(f"{place.name}: kind must be one of {KINDS}")
    if not place.holds or any(h not in HOLDERS for h in place.holds):
        raise ValueError(f"{place.name}: holds must name holders from {HOLDERS}")
    for treatment in (
        place.retention,
        place.access,
        place.export,
        place.erasure,
        place.account_deletion,
        place.workspace_purge,
    ):
        if not treatment.strip():
            raise ValueError(f"{place.name}: every treatment must be written down")
    if place.name.startswith("table:") and not place.table:
        raise ValueError(f"{place.name}: a table place names its table")
    existing = _PLACES.get(place.name)
    if existing is not None and existing.owner != place.owner:
        raise ValueError(f"{place.name} is already registered by {existing.owner}")
    _PLACES[place.name] = place
    return place


@functools.cache
def _discover() -> None:
    """Load the data map of every domain (app.core.domain.DOMAIN_NAMES) that has one:
    ``app/<domain>/datamap.toml``, naming the code of its module's ``TREATMENTS``
    (``app/<domain>/datamap.py`` unless the file says ``code = ...``). Core names no place."""
    from app.core.datamap_files import load, read_map  # the loader needs this module's types

    for name in DOMAIN_NAMES:
        document = importlib.resources.files(f"app.{name}") / "datamap.toml"
        if not document.is_file():
            continue
        text = document.read_bytes()
        code = read_map(name, text).code or f"app.{name}.datamap"
        treatments = Treatments()
        if importlib.util.find_spec(code) is not None:
            treatments = getattr(importlib.import_module(code), "TREATMENTS", treatments)
        for found in load(name, text, treatments):
            register(found)


def places() -> list[Place]:
    """Every registered place, in handler order (discovering the domains' maps first)."""
    _discover()
    return sorted(_PLACES.values(), key=lambda p: (p.order, p.name))


def place(name: str) -> Place:
    """One place by name (KeyError if no domain registered it)."""
    _discover()
    return _PLACES[name]


def tables() -> dict[str, Place]:
    """Table name -> its place (the outbox is a table of kind "mail")."""
    return {p.table: p for p in places() if p.table}


# --- the domains' map files (app/<domain>/datamap.toml) --------------------------------------

Identify = Callable[[UUID, UUID], Awaitable[ContactRef | None]]
Erase = Callable[[ContactRef], Awaitable[int]]
Forget = Callable[[Subject], Awaitable[int]]
Purge = Callable[[UUID], Awaitable[int]]
Expire = Callable[[], Awaitable[int]]


@dataclass(frozen=True, kw_only=True)
class Treatments:
    """The code a domain's map file may name, by role: ``read = "read_account"`` in the file
    is the reader ``_read_account`` (or ``read_account``) listed here. ``files`` are export
    files built in Python (with an ``opener`` or ``extra_args``), named by their file name."""

    read: Sequence[Reader] = ()
    identify: Sequence[Identify] = ()
    erase: Sequence[Erase] = ()
    forget_user: Sequence[Forget] = ()
    purge: Sequence[Purge] = ()
    scan: Sequence[Scanner] = ()
    expire: Sequence[Expire] = ()
    export_files: Sequence[FileWriter] = ()
    files: Sequence[ExportFile] = ()

    def named(self, role: str) -> dict[str, Callable[..., object]]:
        """The functions of ``role`` by the name a map file uses (without a leading ``_``)."""
        functions: Sequence[Callable[..., object]] = getattr(self, role)
        return {f.__name__.lstrip("_"): f for f in functions}


def _patterns(kinds: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for p in places():
        if p.kind in kinds:
            found += ([p.pattern] if p.pattern else []) + list(p.also)
    return found


def file_patterns() -> list[str]:
    """The paths (globs, relative to the data dir) of every file place."""
    return _patterns(("file", "backup", "mail"))


def redis_patterns() -> list[str]:
    """The key patterns of every Redis place."""
    return _patterns(("redis",))


def col(name: str, description: str) -> ExportColumn:
    """Shorthand for an export column."""
    return ExportColumn(name, description)
