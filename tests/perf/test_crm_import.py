"""CSV import of 100k contacts through the real upload, mapping and arq job, into a workspace
on the Business plan (room for 100k records), against a floor measured in the same run: one
bare INSERT … SELECT of as many rows into the same table. Run by `make bench`."""

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

    floor_account = await make_account("ImportFloor")
    floor_started = time.perf_counter()
    async with tenant_transaction(floor_account.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, phones_enc,"
            " emails_bidx, phones_bidx)"
            " select gen_random_uuid(), $1, 'F' || g, 'L' || g, array['enc1:k:e' || g],"
            " array['enc1:k:p' || g], array['e' || g], array['p' || g]"
            " from generate_series(1, $2) as g",
            floor_account.tenant_id,
            ROWS,
        )
    floor = time.perf_counter() - floor_started
    print(
        f"\nCSV import of {ROWS:,} contacts: {elapsed:.2f} s ({ROWS / elapsed:,.0f} rows/s);"
        f" bare INSERT … SELECT of as many rows: {floor:.2f} s"
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
