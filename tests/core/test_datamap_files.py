"""The domains' map files (app/<domain>/datamap.toml): every one loads, and a slip in one (a
misspelt function, key or file name, code nothing names) fails at load, naming the place."""

from __future__ import annotations

import importlib.resources
from uuid import UUID

import pytest

from app.core import datamap, datamap_files
from app.core.datamap import ExportFile, Section, Subject, Treatments, Viewer
from app.core.domain import DOMAIN_NAMES


async def _forget_things(subject: Subject) -> int:
    return 0


async def _purge_things(tenant_id: UUID) -> int:
    return 0


async def _read_things(viewer: Viewer, after: str | None, limit: int) -> Section:
    return Section("Things", [], [])


PLACE = """
[[place]]
name = "table:things"
preset = "tenant_table"
holds = ["user"]
what = "things"
retention = "for ever"
access = "not shown"
account_deletion = "deleted"
forget_user = "forget_things"
"""
TREATMENTS = Treatments(forget_user=[_forget_things])


def test_every_domain_map_file_loads_and_is_installed() -> None:
    owners = {p.owner for p in datamap.places()}
    for name in DOMAIN_NAMES:
        document = importlib.resources.files(f"app.{name}") / "datamap.toml"
        assert document.is_file() == (name in owners), name
    assert {"accounts", "crm", "privacy", "security", "ops"} <= owners


def test_a_place_takes_its_preset_its_name_and_its_code() -> None:
    (place,) = datamap_files.load("things", PLACE, TREATMENTS)
    assert (place.name, place.kind, place.table, place.owner) == (
        "table:things",
        "table",
        "things",
        "things",
    )
    assert place.tenant_scoped and place.export == "not exported"
    assert place.account_deletion == "deleted"  # the entry's own text wins over the preset's
    assert place.forget_user is _forget_things


@pytest.mark.parametrize(
    ("document", "treatments", "message"),
    [
        (PLACE.replace('"forget_things"', '"forget_thing"'), TREATMENTS, "forget_thing"),
        (PLACE.replace("forget_user", "purge"), TREATMENTS, "no purge function"),
        (PLACE + 'retension = "a day"\n', TREATMENTS, "retension"),
        (PLACE + "shown = 'first'\n", TREATMENTS, "shown"),
        (PLACE.replace('preset = "tenant_table"', 'preset = "tenant"'), TREATMENTS, "preset"),
        (PLACE.replace("forget_user = ", "# "), TREATMENTS, "named by no place"),
        (
            PLACE,
            Treatments(forget_user=[_forget_things], purge=[_purge_things]),
            "purge purge_things",
        ),
        (PLACE + 'exports = ["things.csv"]\n', TREATMENTS, "things.csv"),
        (PLACE.replace('name = "table:things"\n', ""), TREATMENTS, "name"),
        (PLACE.replace('retention = "for ever"\n', ""), TREATMENTS, "retention"),
        (PLACE.replace('preset = "tenant_table"\n', ""), TREATMENTS, "export"),
        (
            PLACE + '[place.section]\ntitle = "T"\nselect = "a"\nwhere = "true"\ncolumns = {}\n',
            Treatments(forget_user=[_forget_things], read=[_read_things]),
            "named by no place",
        ),
    ],
)
def test_a_slip_in_a_map_file_fails_at_load(
    document: str, treatments: Treatments, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        datamap_files.load("things", document, treatments)


def test_export_files_are_written_as_data_or_given_as_code() -> None:
    document = (
        PLACE
        + 'exports = ["things.csv", "more.csv"]\n'
        + '[file."things.csv"]\ndescription = "Things."\nown_where = "true"\n'
        + 'sql = "select utc(t.created_at) as \\"When\\" from things t where {where}"\n'
        + '[file."things.csv".columns]\nWhen = "When it was made."\n'
    )
    more = ExportFile("more.csv", "More.", "select 1", ())
    treatments = Treatments(forget_user=[_forget_things], files=[more])
    (place,) = datamap_files.load("things", document, treatments)
    things, given = place.exports
    assert given is more
    when = datamap.utc("t.created_at")
    assert things.sql == f'select {when} as "When" from things t where {{where}}'
    assert [(c.name, c.description) for c in things.columns] == [("When", "When it was made.")]
    assert (things.own_where, things.workspace_where, things.order_by) == ("true", "true", "")


def test_a_section_is_a_paged_reader_of_the_places_table() -> None:
    document = PLACE + (
        '[place.section]\ntitle = "Things"\nselect = "a, b"\nwhere = "user_id = $1"\n'
        'columns = { created_at = "When", a = "A" }\n'
    )
    (place,) = datamap_files.load("things", document, TREATMENTS)
    assert place.read is not None and place.read.__name__ == "read_things"
    with pytest.raises(ValueError, match="instead of read"):
        datamap_files.load(
            "things",
            document.replace("[place.section]", 'read = "read_things"\n[place.section]'),
            Treatments(forget_user=[_forget_things], read=[_read_things]),
        )
