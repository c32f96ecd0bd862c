"""The export's decryption pool: a contacts file read by COPY and decrypted in the pool's
processes is byte for byte the file the cursor path writes (quotes, commas, newlines inside
cells, would-be formulas, empty cells and lists, blocks cut between any two rows), COPY's
output is cut at row ends only, and a ciphertext moved to another row is refused there too."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
import zipfile
from collections.abc import Iterator
from uuid import UUID

import pytest

from app.core.crypto import DecryptionError
from app.core.db import tenant_transaction
from app.crm.export_files import CONTACTS_FILE
from app.crm.secure import seal_contact
from app.privacy import export_copy, export_files, export_pool
from app.privacy.export_files import args_for, file_sql, write_file
from tests.helpers import Account

TRICKY = [  # (first name, last name, title, emails, phones)
    ("Ann", 'O"Neil, "Jr"', 'Head of "Ops", Europe\nand more', ["ann@a.example"], []),
    ("=HYPERLINK(1)", "Doe", "-2+3", ["b@a.example", "b2@a.example"], ["+44 20 7946 0958"]),
    ("Zoë", "Ünal", "", [], ["-12.50"]),
    ("Tab", "\tLead", None, ["=cmd@a.example"], ["@home"]),
    ("Cr", "Line\r\nbreak", "+1 (555) 010", [], []),
    ("Back\\slash", "C:\\new\\table", "tab\\there", ["d@a.example"], ["0"]),
]


@pytest.fixture
def pool_closed() -> Iterator[None]:
    yield
    export_pool.close_pool()


async def _seed(tenant_id: UUID) -> list[UUID]:
    ids = []
    async with tenant_transaction(tenant_id) as conn:
        for n in range(60):  # enough rows for many small blocks
            first, last, title, emails, phones = TRICKY[n % len(TRICKY)]
            contact = uuid.uuid4()
            emails_enc, _, phones_enc, _ = seal_contact(
                [f"{e}.{n}" for e in emails], phones, tenant_id, contact
            )
            await conn.execute(
                "insert into contacts (id, tenant_id, first_name, last_name, title,"
                " emails_enc, phones_enc) values ($1, $2, $3, $4, $5, $6, $7)",
                contact, tenant_id, first, f"{last} {n:02}", title, emails_enc, phones_enc,
            )  # fmt: skip
            ids.append(contact)
    return ids


async def _contacts_file(account: Account, cursor: bool) -> tuple[bytes, dict[str, object]]:
    """contacts.csv as the pool writes it, or as the cursor path does (`cursor`)."""
    spec = CONTACTS_FILE
    if cursor:  # an opener (filling nothing) sends the file down the cursor path
        spec = dataclasses.replace(spec, opener=lambda records: {})
    sql = file_sql(spec, "workspace")
    out = io.BytesIO()
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        with zipfile.ZipFile(out, "w") as archive:
            written = await write_file(
                conn,
                archive,
                spec,
                sql,
                args_for(sql, [account.user_id, "", account.tenant_id]),
                True,
            )
    with zipfile.ZipFile(out) as archive:
        return archive.read(spec.name), written


async def test_pooled_contacts_are_the_cursor_paths_bytes(
    tenant_a: Account, tenant_b: Account, monkeypatch: pytest.MonkeyPatch, pool_closed: None
) -> None:
    await _seed(tenant_a.tenant_id)
    await _seed(tenant_b.tenant_id)  # not in A's file
    monkeypatch.setattr(export_copy, "POOL_BLOCK", 300)  # a block every two or three rows
    pooled, pooled_entry = await _contacts_file(tenant_a, cursor=False)
    by_cursor, cursor_entry = await _contacts_file(tenant_a, cursor=True)
    assert pooled == by_cursor
    assert pooled_entry == cursor_entry and pooled_entry["rows"] == 60
    rows = list(csv.DictReader(io.StringIO(pooled.decode("utf-8-sig"), newline="")))
    assert len(rows) == 60 and pooled.startswith(export_files.BOM)
    emails = {r["Emails"] for r in rows}
    assert "b@a.example.1; b2@a.example.1" in emails and "'=cmd@a.example.3" in emails
    assert {r["Phones"] for r in rows} >= {"+44 20 7946 0958", "-12.50", "'@home", ""}
    assert {'Head of "Ops", Europe\nand more', "tab\\there"} <= {r["Job title"] for r in rows}
    assert "C:\\new\\table 05" in {r["Last name"] for r in rows}  # COPY's escapes undone
    assert not [c for r in rows for c in r.values() if c[:1] in ("=", "@", "\t", "\r")]


async def test_a_moved_ciphertext_is_refused_in_the_pool(
    tenant_a: Account, pool_closed: None
) -> None:
    first, second = (await _seed(tenant_a.tenant_id))[:2]
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # first's emails into second
        await conn.execute(
            "update contacts set emails_enc = (select emails_enc from contacts where id = $1)"
            " where id = $2",
            first, second,
        )  # fmt: skip
    with pytest.raises(DecryptionError):
        await _contacts_file(tenant_a, cursor=False)


def test_blocks_end_at_row_ends_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_copy, "POOL_BLOCK", 40)
    rows = [f"r{n}\tsome\\ntext\\t{'x' * (n % 9)}\t\\N\n".encode() for n in range(50)]
    data = b"".join(rows)  # COPY's text format: a newline in a cell is escaped
    for step in (1, 7, 64, 1000):
        blocks, cutter = [], export_copy.Blocks()
        for at in range(0, len(data), step):
            if (block := cutter.feed(data[at : at + step])) is not None:
                blocks.append(block)
        blocks.append(cutter.rest())
        assert b"".join(blocks) == data
        assert all(block.endswith(b"\n") for block in blocks if block)  # whole rows
        assert len(blocks) > (5 if step < 40 else 1)  # cut often, whatever the pieces


def test_cells_made_safe_on_bytes_as_safe_cell_does() -> None:
    """The pool reads safe_cell's rule on a cell's bytes (ASCII) or its text: the same cells
    whatever the characters after a sign (ASCII whitespace and digits as the str pattern
    reads them, others through safe_cell)."""
    from app.core.spreadsheet import safe_cell

    tails = [chr(c) for c in range(128)] + ["\u00a0", "\u0663", "é", "\u2003"]
    for first in ("+", "-", "=", "@", "\t", "\r", "a", "1", "'"):
        for tail in tails:
            value = f"{first}{tail}2"
            assert export_pool._safe(value.encode()) == safe_cell(value).encode(), repr(value)
    assert export_pool._quoted(b'a "b", c') == b'"a ""b"", c"'
    assert export_pool._quoted("Zoë".encode()) == "Zoë".encode()
