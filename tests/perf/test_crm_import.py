"""CSV import of 100k contacts through the real upload, mapping and arq job, into a workspace
on the Business plan (room for 100k records), against a floor measured in the same run: one
bare INSERT … SELECT of the same rows into the same table (the same names, sealed values of the
same lengths: the search index's trigger, which writes a row per three characters of a name,
is most of what storing a contact costs). Run by `make bench`."""

from __future__ import annotations

import csv
import io
import os
import time
from typing import Any

from app.core.db import tenant_transaction
from tests.crm.test_import import count, import_id_of, upload
from tests.helpers import Account, make_account, run_jobs, set_plan
from tests.perf.report import check, record

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))


def _contacts_csv(rows: int) -> bytes:
    """`rows` valid contacts: names, an email and a phone each (both stored sealed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["First Name", "Last Name", "Email", "Phone"])
    for i in range(1, rows + 1):
        writer.writerow([f"Imported{i}", f"Person{i:06d}", f"person{i}@example.com", f"+49 30 {i}"])
    return buffer.getvalue().encode()


async def _grams(account: Account) -> int:
    async with tenant_transaction(account.tenant_id) as conn:
        return int(await conn.fetchval("select count(*) from search_grams where kind = 'contact'"))


async def test_import_100k_contacts_vs_insert_select(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await set_plan(tenant_a, "business")
    content = _contacts_csv(ROWS)
    started = time.perf_counter()
    import_id = import_id_of(await upload(client_a, content))
    mapping = {"col_0": "first_name", "col_1": "last_name", "col_2": "emails", "col_3": "phones"}
    assert (await client_a.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
    await run_jobs()
    elapsed = time.perf_counter() - started
    # the purpose of the run: every row imported, none refused (plan limit, validation)
    assert await count(tenant_a, "contacts") == ROWS
    assert await count(tenant_b, "contacts") == 0
    page = await client_a.get(f"/imports/{import_id}")
    assert "Import finished" in page.text and f"{ROWS:,}</strong> of {ROWS:,}" in page.text

    # the floor stores the same rows: the same names (the search index's trigger writes a
    # piece per three characters of them, most of the insert's cost) and sealed values and
    # blind indexes of the same lengths as the import's, in one statement with no checks
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        sizes = await conn.fetchrow(
            "select length(emails_enc[1]) as e, length(phones_enc[1]) as p,"
            " length(emails_bidx[1]) as eb, length(phones_bidx[1]) as pb from contacts limit 1"
        )
    floor_account = await make_account("ImportFloor")
    await set_plan(floor_account, "business")
    floor_started = time.perf_counter()
    async with tenant_transaction(floor_account.tenant_id) as conn:
        status = await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, phones_enc,"
            " emails_bidx, phones_bidx)"
            " select gen_random_uuid(), $1, 'Imported' || g, 'Person' || lpad(g::text, 6, '0'),"
            " array[rpad('enc2:k:e' || g, $3, 'x')], array[rpad('enc2:k:p' || g, $4, 'x')],"
            " array[rpad('e' || g, $5, 'x')], array[rpad('p' || g, $6, 'x')]"
            " from generate_series(1, $2) as g",
            floor_account.tenant_id,
            ROWS,
            sizes["e"],
            sizes["p"],
            sizes["eb"],
            sizes["pb"],
        )
    floor = time.perf_counter() - floor_started
    # the floor stored as many rows, and as many search pieces, as the import did
    assert status == f"INSERT 0 {ROWS}"
    assert await _grams(floor_account) == await _grams(tenant_a) > ROWS
    print(
        f"\nCSV import of {ROWS:,} contacts: {elapsed:.2f} s ({ROWS / elapsed:,.0f} rows/s);"
        f" bare INSERT … SELECT of the same rows: {floor:.2f} s"
    )
    check(
        record(
            "Import 100k contacts (CSV)",
            elapsed,
            "s",
            floor=floor,
            floor_what="bare INSERT…SELECT",
            goal=2.0,
            bound=4.0,
            detail={"rows": ROWS, "rows_per_s": ROWS / elapsed},
        )
    )
