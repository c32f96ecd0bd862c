"""The loader of the domains' data-map files (``app/<domain>/datamap.toml``): each
``[[place]]`` decoded into a ``Place`` of app/core/datamap.py, with presets for the places most
sorts share, the code it names resolved by role against the domain's ``Treatments``, and its
export files (``[file."x.csv"]``) built; a name that resolves to nothing, code that no place
names or a malformed entry raises ValueError naming the file (tests/core/test_datamap_files.py).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, Literal

import msgspec
import msgspec.toml

from app.core.datamap import (
    ExportColumn,
    ExportFile,
    Place,
    Reader,
    Section,
    Treatments,
    Viewer,
    time_page,
    utc,
)


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
    custom_kind: str | None = None  # its custom fields follow as columns (ExportFile's)


class MapFile(msgspec.Struct, forbid_unknown_fields=True):
    """A domain's ``datamap.toml``: its places, the export files they name, and the module
    whose ``TREATMENTS`` holds the code they name (by default ``app.<domain>.datamap``)."""

    place: list[dict[str, object]]  # each decoded into PLACE_SPEC
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
    fields: list[tuple[str, object] | tuple[str, object, object]] = [
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
        custom_kind=spec.custom_kind,
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
