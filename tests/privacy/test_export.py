"""CSV export: readable files (names beside ids, lists as `a; b`, no internal columns, a README
and documented columns), every row for admins, only their own data for members, nothing of
another tenant, safe cells, the consents of My data, a round trip through the CSV import, and
no temp file left by a job that died or timed out."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import time
import uuid
import zipfile
from typing import Any
from uuid import UUID

import pytest

from app.core.db import tenant_transaction
from app.core.spreadsheet import neutralise_sql
from app.crm.secure import seal_contact
from app.privacy import export
from tests.crm.test_import import import_id_of, upload
from tests.helpers import Account, browser_client, run_jobs
from tests.privacy.seed import add_member, seed_crm

EXPORT_ID = re.compile(r'id="export-([0-9a-f-]{36})"')
# what a spreadsheet user must never see: storage internals
INTERNAL = re.compile(r"tenant_id|search_text|sort_|_bidx|_enc$|^version$|^raw$", re.I)
CRM_FILES = {
    "contacts.csv": "contacts",
    "companies.csv": "companies",
    "deals.csv": "deals",
    "stages.csv": "stages",
    "invoices.csv": "invoices",
    "invoice_lines.csv": "invoice_lines",
    "notes.csv": "notes",
    "tasks.csv": "tasks",
    "timeline.csv": "activities",
}


async def download_export(client: Any, body: dict[str, str] | None = None) -> zipfile.ZipFile:
    """Ask for an export as this browser, run the job, download the zip."""
    assert (await client.post_form("/settings/export", body or {})).status_code == 303
    export_id = EXPORT_ID.search((await client.get("/settings/export")).text).group(1)  # type: ignore[union-attr]
    await run_jobs()
    download = await client.get(f"/settings/export/{export_id}/download")
    assert download.status_code == 200, download.text[:300]
    return zipfile.ZipFile(io.BytesIO(download.content))


def rows_of(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


async def test_admin_export_is_readable_complete_and_safe(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    seeded = await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "alpha")
    await seed_crm(tenant_b.tenant_id, tenant_b.user_id, "bravo")
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # two addresses, two tags
        contact = seeded["contacts"][2]
        await conn.execute(
            "update contacts set emails_enc = $2, emails_bidx = $3, phones_enc = $4,"
            " phones_bidx = $5, tags = $6, owner_id = $7 where id = $1",
            contact,
            *seal_contact(
                ["jo@alpha.example", "jo.home@alpha.example"],
                ["+44 20 7946 0958"],
                tenant_a.tenant_id,
                contact,
            ),
            ["vip", "decision maker"],
            tenant_a.user_id,
        )
    await client_a.post_form("/privacy/consent", {"choice": "accept", "next": "/app"})
    archive = await download_export(client_a, {"bom": "on"})
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["scope"] == "workspace" and manifest["workspace"] == tenant_a.company
    files = {f["file"]: f for f in manifest["files"]}
    assert set(CRM_FILES) <= set(files) and "README.txt" in archive.namelist()
    readme = archive.read("README.txt").decode()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for name, table in CRM_FILES.items():
            data = archive.read(name)
            assert data.startswith(b"\xef\xbb\xbf"), name  # BOM option
            table_rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            header = table_rows[0]
            assert len(table_rows) - 1 == files[name]["rows"], name
            assert await conn.fetchval(f"select count(*) from {table}") == files[name]["rows"]
            assert hashlib.sha256(data).hexdigest() == files[name]["sha256"]
            assert header == [c["name"] for c in files[name]["columns"]], name  # documented
            assert all(c["description"] for c in files[name]["columns"])
            assert not [h for h in header if INTERNAL.search(h)], (name, header)
            assert name in readme and all(h in readme for h in header)
            assert b"bravo" not in data, name  # nothing of the other tenant
    contacts = {r["Contact id"]: r for r in rows_of(archive, "contacts.csv")}
    jo = contacts[str(contact)]
    assert jo["Emails"] == "jo@alpha.example; jo.home@alpha.example"  # a; b, decrypted
    assert jo["Phones"] == "+44 20 7946 0958" and jo["Tags"] == "vip; decision maker"
    assert jo["Company"] == "Acme alpha" and jo["Owner"] == tenant_a.name  # names, not ids
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", jo["Created (UTC)"])
    deal = rows_of(archive, "deals.csv")[0]
    assert (deal["Pipeline"], deal["Stage"], deal["Company"]) == ("Sales", "Lead", "Acme alpha")
    assert deal["Owner"] == tenant_a.name and deal["Contacts"] == "Jane1 alpha Doe alpha"
    assert deal["Amount"] == "1200.00"  # a number stays a number
    note = rows_of(archive, "notes.csv")[0]
    assert note["Record"] == "Jane1 alpha Doe alpha" and "divorce" in note["Note"]
    assert note["Author"] == tenant_a.name and note["Record type"] == "contact"
    task, call = rows_of(archive, "tasks.csv")[:2]
    assert task["Record"] == "Jane1 alpha Doe alpha" and task["Created by"] == tenant_a.name
    assert (call["Kind"], call["Outcome"], call["Minutes"]) == ("call", "connected", "15")
    assert call["Participants"] == "Jane1 alpha Doe alpha" and call["Record"] == "Acme alpha"
    assert "volume pricing" in call["Notes"]  # decrypted
    lines = rows_of(archive, "invoice_lines.csv")
    assert {line["Invoice number"] for line in lines} == {"1"}
    assert lines[0]["Description"] == "'@SUM(A1) line 1 alpha" and lines[0]["Net amount"] == "50.00"
    cells = [
        c
        for r in csv.reader(io.StringIO(archive.read("contacts.csv").decode("utf-8-sig")))
        for c in r
    ]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert 'Head of "Ops", Europe\nand more' in cells and "'-2+3" in cells
    assert not [c for c in cells if c[:1] in ("=", "@", "\t", "\r")]
    plain = re.compile(r"[+-][\d\s().,/-]*")
    assert not [c for c in cells if c.startswith(("+", "-")) and not plain.fullmatch(c)]
    account = rows_of(archive, "my_account.csv")
    assert [a["Email"] for a in account] == [tenant_a.email] and "password" not in str(account)

    # the consents file lists what My data shows (the user's and this browser's choices)
    consents = rows_of(archive, "my_consents.csv")
    assert consents and consents[-1]["Choice"] == "granted"
    page = (await client_a.get("/settings/my-data")).text
    section = page.split('id="md-table-consents"')[1].split("</section>")[0]
    assert section.count("<tr>") - 1 == len(consents)  # header row + one row each

    mails = [m for m in mailbox.to(tenant_a.email) if "export is ready" in m["Subject"]]
    assert len(mails) == 1
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from notifications where kind = 'export'") == 1
        summary = await conn.fetchval(
            "select summary from security_alerts where kind = 'export_requested'"
        )
        assert "all workspace data" in summary
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from exports") == 0


async def test_member_exports_only_their_own_data(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    seeded = await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "alpha")
    member_id, email = await add_member(tenant_a.tenant_id)
    mine = uuid.uuid4()
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, owner_id)"
            " values ($1, $2, 'Mine', 'Only', $3)",
            mine,
            tenant_a.tenant_id,
            member_id,
        )
        await conn.execute(
            "insert into tasks (id, tenant_id, subject_type, subject_id, title, assignee_id)"
            " values ($1, $2, 'contact', $3, 'Call them back', $4)",
            uuid.uuid4(),
            tenant_a.tenant_id,
            seeded["target"],
            member_id,
        )
    async with browser_client(app) as member:
        await member.login(email, "correct horse battery staple")
        page = await member.get("/settings/export")
        assert "Export my data as CSV" in page.text and "your own data" in page.text
        assert "stages.csv" not in page.text
        archive = await download_export(member)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["scope"] == "own"
    names = {f["file"] for f in manifest["files"]}
    assert "stages.csv" not in names and "contacts.csv" in names
    assert [c["First name"] for c in rows_of(archive, "contacts.csv")] == ["Mine"]
    assert rows_of(archive, "companies.csv") == [] and rows_of(archive, "notes.csv") == []
    assert [t["Task"] for t in rows_of(archive, "tasks.csv")] == ["Call them back"]
    assert rows_of(archive, "deals.csv") == [] and rows_of(archive, "invoices.csv") == []
    assert [a["Email"] for a in rows_of(archive, "my_account.csv")] == [email]
    everything = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".csv"))
    assert b"divorce" not in everything and tenant_a.email.encode() not in everything
    assert "your own data" in archive.read("README.txt").decode()

    # the owner, same workspace, gets it all
    archive = await download_export(client_a)
    assert len(rows_of(archive, "contacts.csv")) == 4


async def test_contacts_and_companies_round_trip_through_the_import(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await seed_crm(tenant_a.tenant_id, tenant_a.user_id, "alpha")
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update companies set domain = 'acme.example', industry = 'Rockets', size = '11-50',"
            " address = '1 Road, Town'"
        )
        first = await conn.fetchval("select id from contacts order by first_name limit 1")
        await conn.execute(
            "update contacts set tags = '{vip,\"decision maker\"}', phones_enc = $2,"
            " phones_bidx = $3 where id = $1",
            first,
            *seal_contact([], ["+44 20 7946 0958"], tenant_a.tenant_id, first)[2:],
        )
    archive = await download_export(client_a)

    async def import_file(name: str, kind: str) -> None:
        import_id = import_id_of(await upload(client_b, archive.read(name), kind, name))
        page = (await client_b.get(f"/imports/{import_id}")).text
        mapping = {}  # what the import guessed from the column names, as the page shows it
        for select in re.findall(r'<select[^>]*name="col_\d+".*?</select>', page, re.S):
            index = re.search(r'name="(col_\d+)"', select).group(1)  # type: ignore[union-attr]
            chosen = re.search(r'<option value="([a-z_]+)" selected', select)
            if chosen:
                mapping[index] = chosen.group(1)
        assert (await client_b.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
        await run_jobs()

    await import_file("companies.csv", "companies")
    await import_file("contacts.csv", "contacts")

    async def people(account: Account) -> list[tuple[Any, ...]]:
        from app.crm.secure import open_contact

        async with tenant_transaction(account.tenant_id) as conn:
            rows = await conn.fetch(
                "select c.*, co.name as company from contacts c left join companies co"
                " on co.id = c.company_id"
            )
        found = []
        for row in rows:
            c = open_contact(row)
            found.append(
                (
                    c["first_name"],
                    c["last_name"],
                    c["emails"],
                    c["phones"],
                    " ".join((c["title"] or "").split()),  # one line in Odex
                    c["company"],
                    sorted(c["tags"]),
                )
            )
        return sorted(found)

    async def companies(account: Account) -> list[tuple[Any, ...]]:
        async with tenant_transaction(account.tenant_id) as conn:
            rows = await conn.fetch("select name, domain, industry, size, address from companies")
        return sorted(tuple(r) for r in rows)

    assert await people(tenant_b) == await people(tenant_a)
    assert await companies(tenant_b) == await companies(tenant_a)


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


async def _queued_export(account: Account) -> UUID:
    from app.accounts.services import load_current

    current = await load_current(account.user_id, account.tenant_id)
    assert current is not None
    return await export.request_export(current, False)


async def test_a_timed_out_export_leaves_no_temp_file(
    tenant_a: Account, tenant_b: Account, monkeypatch: Any
) -> None:
    export_id = await _queued_export(tenant_a)
    started = asyncio.Event()

    async def hang(*args: Any, **kwargs: Any) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    monkeypatch.setattr(export, "write_file", hang)
    monkeypatch.setattr(export, "EXPORT_TIMEOUT_SECONDS", 1.5)
    job = asyncio.create_task(export.run_export(None, str(tenant_a.tenant_id), str(export_id)))
    await started.wait()
    folder = export.export_dir() / str(tenant_a.tenant_id)
    assert [p for p in folder.iterdir() if p.name.startswith(f".{export_id}")]
    await asyncio.sleep(1.6)
    job.cancel()  # what arq does when the job passes its timeout (a shutdown hands it back)
    with pytest.raises(asyncio.CancelledError):
        await job
    assert not [p for p in folder.iterdir() if p.name.startswith(f".{export_id}")]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert (
            await conn.fetchval("select status from exports where id = $1", export_id) == "failed"
        )


async def test_the_sweep_removes_files_of_dead_or_gone_exports(
    tenant_a: Account, tenant_b: Account
) -> None:
    running = await _queued_export(tenant_a)
    folder = export.export_dir() / str(tenant_a.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    killed = folder / f".{running}.4242.tmp"  # a worker killed (-9) while writing
    fresh = folder / f".{running}.4243.tmp"  # a worker writing right now
    orphan = folder / f"{uuid.uuid4()}.zip"  # its export row is gone
    gone_tenant = export.export_dir() / str(uuid.uuid4())  # a purged workspace's leftovers
    gone_tenant.mkdir()
    leftover = gone_tenant / f"{uuid.uuid4()}.zip"
    for path in (killed, fresh, orphan, leftover):
        path.write_bytes(b"decrypted data")
    old = time.time() - export.EXPORT_TIMEOUT_SECONDS - 60
    os.utime(killed, (old, old))
    assert await export.sweep_export_files() >= 3
    assert fresh.exists() and not killed.exists() and not orphan.exists()
    assert not leftover.exists()
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # the job ended: its temp goes
        await conn.execute("update exports set status = 'failed' where id = $1", running)
    await export.sweep_export_files()
    assert not fresh.exists()


def test_neutralise_sql_shape() -> None:
    sql = neutralise_sql("q.name")
    assert "chr(9)" in sql and "chr(13)" in sql and "'='" in sql and "'@'" in sql
