"""CSV export: every row of every entity, nothing of another tenant, safe cells, manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from typing import Any

from app.core.db import tenant_transaction
from app.privacy.export import neutralise
from tests.helpers import Account, browser_client, run_jobs
from tests.privacy.seed import ENTITY_TABLES, add_member, seed_crm

EXPORT_ID = re.compile(r'id="export-([0-9a-f-]{36})"')


async def test_export_zip_has_every_row_and_safe_cells(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "alpha")
    await seed_crm(tenant_b.tenant_id, tenant_b.user_id, "bravo")
    r = await client_a.post_form("/settings/export", {"bom": "on"})
    assert r.status_code == 303
    page = await client_a.get("/settings/export")
    export_id = EXPORT_ID.search(page.text).group(1)  # type: ignore[union-attr]
    assert 'hx-trigger="every 1s"' in page.text and "Waiting to start" in page.text
    await run_jobs()
    row = await client_a.get(
        f"/settings/export/{export_id}/progress", headers={"HX-Request": "true"}
    )
    assert "Ready" in row.text and "every 1s" not in row.text  # polling stops
    download = await client_a.get(f"/settings/export/{export_id}/download")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    manifest = json.loads(archive.read("manifest.json"))
    files = {f["file"]: f for f in manifest["files"]}
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for name, table in ENTITY_TABLES.items():
            expected = await conn.fetchval(f"select count(*) from {table}")
            data = archive.read(name)
            assert data.startswith(b"\xef\xbb\xbf"), name  # BOM option
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert len(rows) - 1 == expected == files[name]["rows"], name
            assert hashlib.sha256(data).hexdigest() == files[name]["sha256"]
            assert b"bravo" not in data, name  # nothing of the other tenant
    assert {"my_account.csv", "my_consents.csv", "my_usage_events.csv"} <= set(files)
    contacts = archive.read("contacts.csv").decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(contacts)) for cell in line]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert 'Head of "Ops", Europe\nand more' in cells  # quoting keeps commas/quotes/newlines
    assert "'-2+3" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    lines = archive.read("invoice_lines.csv").decode("utf-8-sig")
    assert "'@SUM(A1) line 1 alpha" in lines and ",50.00," in lines  # numbers stay numbers
    account = archive.read("my_account.csv").decode("utf-8-sig")
    assert tenant_a.email in account and "password" not in account

    # notification, mail, and the admins' security alert with its audit entry
    mails = [m for m in mailbox.to(tenant_a.email) if "export is ready" in m["Subject"]]
    assert (
        len(mails) == 1
        and f"/settings/export/{export_id}/download" in mails[0].get_payload(decode=True).decode()
    )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from notifications where kind = 'export'") == 1
        assert (
            await conn.fetchval(
                "select count(*) from security_alerts where kind = 'export_requested'"
            )
            == 1
        )
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from exports") == 0
        assert await conn.fetchval("select count(*) from security_alerts") == 0


async def test_download_only_for_requester_and_until_expiry(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await client_a.post_form("/settings/export", {})
    export_id = EXPORT_ID.search((await client_a.get("/settings/export")).text).group(1)  # type: ignore[union-attr]
    await run_jobs()
    url = f"/settings/export/{export_id}/download"
    assert (await client_a.get(url)).status_code == 200
    assert (await client_b.get(url)).status_code == 404  # another tenant
    _, email = await add_member(tenant_a.tenant_id, "admin")
    async with browser_client(app) as colleague:
        await colleague.login(email, "correct horse battery staple")
        assert (await colleague.get(url)).status_code == 404  # same tenant, not the requester
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update exports set expires_at = now() - interval '1 minute'")
    assert (await client_a.get(url)).status_code == 404
    assert "link expired" in (await client_a.get("/settings/export")).text


def test_neutralise_sql_shape() -> None:
    sql = neutralise("q.name")
    assert "chr(9)" in sql and "chr(13)" in sql and "'='" in sql and "'@'" in sql
