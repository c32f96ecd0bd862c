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

import dataclasses
import functools
import importlib
import importlib.resources
import importlib.util
import re
import typing
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import msgspec
import msgspec.toml

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
class ExportFile:
    """One CSV file of the export, produced by ``COPY (sql) TO STDOUT`` (or a cursor).

    ``sql`` selects exactly ``columns`` (aliased with their names); ``$1`` is the requester's
    user id. ``workspace_where`` / ``own_where`` filter the rows for an admin's workspace
    export and for a member's own-data export (None: the file is not in that export).
    ``decrypt`` names columns holding ciphertext: the rows are then read through a cursor and
    opened by ``opener`` (the owning domain's decryption, given the record).
    """

    name: str
    description: str
    sql: str
    columns: tuple[ExportColumn, ...]
    workspace_where: str | None = "true"
    own_where: str | None = None
    order_by: str = ""
    opener: Callable[[dict[str, object]], dict[str, object]] | None = None
    # values for $2, $3...
    extra_args: Callable[[dict[str, object]], Sequence[object]] | None = None


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

    def named(self, role: str) -> dict[str, Any]:
        """The functions of ``role`` by the name a map file uses (without a leading ``_``)."""
        functions: Sequence[Callable[..., object]] = getattr(self, role)
        return {f.__name__.lstrip("_"): f for f in functions}


class SectionSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A My data section that is one newest-first page of the viewer's rows of the place's
    tenant table (``[place.section]``): the reader is built from it, no code needed."""

    title: str
    select: str  # the columns read (besides id and created_at)
    where: str  # the viewer's rows; $1 is their user id
    columns: dict[str, str]  # key -> label, in the order shown
    note: str = ""


class FileSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An export file as a map file writes it (``[file."name.csv"]``)."""

    description: str
    sql: str  # utc(expr) stands for app.core.datamap_scan.utc(expr)
    columns: dict[str, str]  # column name -> what it means, in the file's order
    workspace_where: str = "true"
    own_where: str | msgspec.UnsetType = msgspec.UNSET  # absent: not in the own-data export
    order_by: str = ""


class MapFile(msgspec.Struct, forbid_unknown_fields=True):
    """A domain's ``datamap.toml``: its places, the export files they name, and the module
    whose ``TREATMENTS`` holds the code they name (by default ``app.<domain>.datamap``)."""

    place: list[dict[str, Any]]  # each decoded into PLACE_SPEC
    code: str | None = None
    file: dict[str, FileSpec] = {}


# Treatments most places of a sort share; a preset's entry names only what differs.
TENANT_TABLE: dict[str, object] = {
    "tenant_scoped": True,
    "export": "not exported",
    "erasure": "not affected",
    "workspace_purge": "deleted",
}
PRESETS: dict[str, dict[str, object]] = {
    # a tenant table (RLS) whose rows the workspace purge deletes
    "tenant_table": TENANT_TABLE,
    # a tenant table of the workspace's own settings or records: not shown, not exported, no
    # person's deletion touches it, kept while the workspace exists
    "workspace_record": {
        **TENANT_TABLE,
        "holds": ("workspace",),
        "retention": "while the workspace exists",
        "access": "not shown",
        "account_deletion": "not affected",
    },
    # a global table of a user's own rows (user_id), deleted with the account (cascade) and
    # with members a workspace purge leaves in no workspace
    "user_table": {
        "holds": ("user",),
        "user_columns": ("user_id",),
        "retention": "while the account exists",
        "export": "not exported",
        "erasure": "not affected",
        "account_deletion": "deleted (cascade from the account)",
        "workspace_purge": "deleted with members who belong nowhere else",
    },
}
ROLES = ("read", "identify", "erase", "forget_user", "purge", "scan", "expire", "export_files")
UTC_MACRO = re.compile(r"\butc\(([\w.]+)\)")


def _place_spec() -> Any:
    """The Struct a map file's ``[[place]]`` decodes into, derived from ``Place``: its fields
    as they are typed there, callables by name; all optional but the name (a preset, the name
    or the defaults supply the rest); and the file's own keys ``preset``, ``section`` (a My
    data section built without code, instead of ``read``) and ``exports`` (file names)."""
    hints = typing.get_type_hints(Place)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        ("name", str),
        ("preset", Literal["tenant_table", "workspace_record", "user_table"] | None, None),
        ("section", SectionSpec | None, None),
        ("exports", tuple[str, ...], ()),
    ]
    for field in dataclasses.fields(Place):
        if field.name not in ("name", "owner", "exports"):
            kind = str if field.name in ROLES else hints[field.name]
            fields.append((field.name, kind | msgspec.UnsetType, msgspec.UNSET))
    return msgspec.defstruct("PlaceSpec", fields, kw_only=True, forbid_unknown_fields=True)


PLACE_SPEC = _place_spec()


def _export_file(name: str, spec: FileSpec) -> ExportFile:
    return ExportFile(
        name,
        spec.description,
        UTC_MACRO.sub(lambda m: utc(m.group(1)), spec.sql),
        tuple(ExportColumn(k, v) for k, v in spec.columns.items()),
        workspace_where=spec.workspace_where,
        own_where=None if isinstance(spec.own_where, msgspec.UnsetType) else spec.own_where,
        order_by=spec.order_by,
    )


def _section_reader(table: str, spec: SectionSpec) -> Reader:
    async def read(viewer: Viewer, after: str | None, limit: int) -> Section:
        rows, total, next_after = await time_page(
            viewer.tenant_id, table, spec.select, spec.where, viewer.user_id, after, limit
        )
        return Section(spec.title, list(spec.columns.items()), rows, total, next_after, spec.note)

    read.__name__ = f"read_{table}"
    return read


def read_map(owner: str, document: bytes | str) -> MapFile:
    """A domain's map file, decoded (ValueError naming the file if it is malformed)."""
    try:
        return msgspec.toml.decode(document, type=MapFile)
    except msgspec.ValidationError as exc:
        raise ValueError(f"app/{owner}/datamap.toml: {exc}") from exc


def load(owner: str, document: bytes | str, treatments: Treatments) -> list[Place]:
    """The places of ``owner``'s map file, their callables and export files resolved; a name
    that resolves to nothing, a treatment or file nothing names, or a malformed entry raises
    ValueError (at start-up: the map is loaded before the app serves)."""
    where = f"app/{owner}/datamap.toml"
    doc = read_map(owner, document)
    roles = {role: treatments.named(role) for role in ROLES}
    files = {f.name: f for f in treatments.files}
    for name, file_spec in doc.file.items():
        if name in files:
            raise ValueError(f"{where}: file {name} is defined twice")
        files[name] = _export_file(name, file_spec)
    unused = {(role, n) for role, named in roles.items() for n in named}
    unused |= {("file", n) for n in files}
    found = []
    for entry in doc.place:
        try:
            spec = msgspec.convert(entry, PLACE_SPEC)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}: {entry.get('name', 'a place')}: {exc}") from exc
        fields = {
            k: getattr(spec, k)
            for k in spec.__struct_fields__
            if getattr(spec, k) is not msgspec.UNSET and k not in ("preset", "exports", "section")
        }
        if spec.preset:
            fields = PRESETS[spec.preset] | fields
        prefix, _, rest = spec.name.partition(":")
        fields.setdefault("kind", prefix)
        if prefix == "table":
            fields.setdefault("table", rest)
        if spec.section is not None:
            if "read" in fields or "table" not in fields:
                raise ValueError(f"{where}: {spec.name}: a section reads a table, instead of read")
            fields["read"] = _section_reader(fields["table"], spec.section)
        for role in ROLES:
            if role in fields and isinstance(fields[role], str):
                named = roles[role]
                if fields[role] not in named:
                    raise ValueError(
                        f"{where}: {spec.name}: no {role} function named {fields[role]!r}"
                        f" in the domain's TREATMENTS (known: {', '.join(sorted(named))})"
                    )
                unused.discard((role, fields[role]))
                fields[role] = named[fields[role]]
        for name in spec.exports:
            if name not in files:
                raise ValueError(f"{where}: {spec.name}: no export file named {name!r}")
            unused.discard(("file", name))
        try:
            found.append(
                Place(owner=owner, exports=tuple(files[n] for n in spec.exports), **fields)
            )
        except TypeError as exc:  # a required treatment left out
            raise ValueError(f"{where}: {spec.name}: {exc}") from exc
    if unused:
        listed = ", ".join(f"{role} {name}" for role, name in sorted(unused))
        raise ValueError(f"{where}: named by no place: {listed}")
    return found


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
