"""CSV import of 100k contacts through the real upload, mapping and arq job, reported as a
ratio to a floor measured in the same run (one bare INSERT ... SELECT of as many rows)."""

from __future__ import annotations

import os
import time
from typing import Any

from app.core.db import tenant_transaction
from tests.crm.test_import import contacts_csv, count, import_id_of, upload
from tests.helpers import Account, make_account, run_jobs

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))


async def test_import_100k_contacts(client_a: Any, tenant_a: Account) -> None:
    content, bad = contacts_csv(ROWS)
    started = time.perf_counter()
    import_id = import_id_of(await upload(client_a, content))
    mapping = {"col_0": "first_name", "col_1": "last_name", "col_2": "emails", "col_3": "company"}
    assert (await client_a.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
    await run_jobs()
    elapsed = time.perf_counter() - started
    assert await count(tenant_a, "contacts") == ROWS - len(bad)
    page = await client_a.get(f"/imports/{import_id}")
    assert "Import finished" in page.text and f"{ROWS:,}</strong> of {ROWS:,}" in page.text

    floor_account = await make_account("ImportFloor")
    floor_started = time.perf_counter()
    async with tenant_transaction(floor_account.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, search_text)"
            " select gen_random_uuid(), $1, 'F' || g, 'L' || g, array['enc1:k:p' || g],"
            " 'f' || g from generate_series(1, $2) as g",
            floor_account.tenant_id,
            ROWS,
        )
    floor = time.perf_counter() - floor_started
    print(
        f"\nCSV import {ROWS:,} contacts: {elapsed:.2f} s ({ROWS / elapsed:,.0f} rows/s);"
        f" floor (bare INSERT ... SELECT): {floor:.2f} s; ratio {elapsed / floor:.1f}x"
    )
