"""CSV import: upload, mapping with preview, the arq job in batches, progress, error report,
resumption, encodings and malformed files; another tenant sees none of it."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.core.db import tenant_transaction
from app.crm.import_jobs import import_crm_csv
from app.crm.upload import UploadTooLarge, receive_upload
from tests.helpers import Account, run_jobs, set_plan

ROWS = 5000


def contacts_csv(rows: int) -> tuple[bytes, set[int]]:
    """A CSV of `rows` contacts; every 500th row has a bad email, every 777th no name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["First Name", "Last Name", "Email", "Company", "Phone", "Notes"])
    bad: set[int] = set()
    for i in range(1, rows + 1):
        email = f"person{i}@example.com"
        first, last = f"Imported{i}", f"Person{i:05d}"
        if i % 500 == 0:
            email, bad = "not-an-email", bad | {i}
        elif i % 777 == 0:
            first, last, bad = "", "", bad | {i}
        writer.writerow([first, last, email, f"Company {i % 7}", "+49 30 1234", "ignored"])
    return buffer.getvalue().encode(), bad


async def upload(
    client: Any, content: bytes, kind: str = "contacts", name: str = "people.csv"
) -> Any:
    if not client.csrf:
        await client.refresh_csrf("/app")
    return await client.post(
        "/imports",
        data={"kind": kind},
        files={"file": (name, content, "text/csv")},
        headers={"X-CSRF-Token": client.csrf},
    )


def import_id_of(response: Any) -> str:
    assert response.status_code == 303, html.unescape(response.text)[:3000]
    match = re.search(r"/imports/([0-9a-f-]{36})", response.headers["location"])
    assert match
    return match.group(1)


async def count(account: Account, table: str) -> int:
    async with tenant_transaction(account.tenant_id) as conn:
        return int(await conn.fetchval(f"select count(*) from {table}"))


async def test_import_contacts_end_to_end(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await set_plan(tenant_a, "business")  # Free holds 500 records; this imports 5,000
    content, bad = contacts_csv(ROWS)
    b_import = import_id_of(await upload(client_b, b"Name,Email\nBart Simpson,bart@example.com\n"))
    import_id = import_id_of(await upload(client_a, content))

    mapping_page = await client_a.get(f"/imports/{import_id}")
    assert mapping_page.status_code == 200
    text = mapping_page.text
    assert "Imported1" in text and "Person00005" in text  # preview of the first rows
    assert re.search(r'name="col_0".*?<option value="first_name" selected', text, re.S)
    assert re.search(r'name="col_2".*?<option value="emails" selected', text, re.S)

    mapping = {
        "col_0": "first_name",
        "col_1": "last_name",
        "col_2": "emails",
        "col_3": "company",
        "col_4": "phones",
    }
    started = await client_a.post_form(f"/imports/{import_id}/run", mapping)
    assert started.status_code == 303
    queued = await client_a.get(f"/imports/{import_id}")
    assert "Waiting to start" in queued.text and 'hx-trigger="every 1s"' in queued.text
    assert (await client_b.get(f"/imports/{import_id}")).status_code == 404
    assert (await client_b.post_form(f"/imports/{import_id}/run", mapping)).status_code == 404
    assert (await client_b.get(f"/imports/{import_id}/errors.csv")).status_code == 404

    await run_jobs()

    progress = await client_a.get(f"/imports/{import_id}/progress", headers={"HX-Request": "true"})
    assert "Import finished" in progress.text and "every 1s" not in progress.text
    assert f"{ROWS:,}</strong> of {ROWS:,} rows" in progress.text
    assert (
        f"{ROWS - len(bad):,} imported" in progress.text and f"{len(bad):,} failed" in progress.text
    )
    assert await count(tenant_a, "contacts") == ROWS - len(bad)
    assert await count(tenant_a, "companies") == 7  # "Company 0".."Company 6", created once each
    assert "7 companies created" in progress.text
    assert await count(tenant_b, "contacts") == 0  # B's upload was never mapped nor run

    report = await client_a.get(f"/imports/{import_id}/errors.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    failed = list(csv.reader(io.StringIO(report.text)))
    assert failed[0][:3] == ["row", "reason", "First Name"]
    assert {int(r[0]) for r in failed[1:]} == bad
    reasons = {int(r[0]): r[1] for r in failed[1:]}
    assert "not a valid email address" in reasons[500]
    assert "Enter a first or last name." in reasons[777]
    assert failed[1][6] == "+49 30 1234"  # phone numbers are not mistaken for formulas

    history = await client_a.get("/imports")
    assert "people.csv" in history.text and f"{ROWS - len(bad):,}" in history.text
    b_history = (await client_b.get("/imports")).text
    assert f"/imports/{b_import}" in b_history and f"/imports/{import_id}" not in b_history
    found = await client_a.get("/contacts", params={"q": "person4242@example.com"})
    assert "Imported4242" in found.text
    assert "Imported" not in (await client_b.get("/contacts")).text
    assert b_import != import_id


async def test_import_resumes_after_interruption(client_a: Any, tenant_a: Account) -> None:
    await set_plan(tenant_a, "pro")
    content, bad = contacts_csv(2500)
    import_id = import_id_of(await upload(client_a, content))
    mapping = {"col_0": "first_name", "col_1": "last_name", "col_2": "emails"}
    assert (await client_a.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
    # a worker that dies after its first batch: that batch and its progress are committed
    done = await import_crm_csv({}, str(tenant_a.tenant_id), import_id, stop_after_batches=1)
    assert done == 1000
    partial = await client_a.get(f"/imports/{import_id}")
    assert "Importing…" in partial.text and "1,000</strong> of 2,500 rows" in partial.text
    assert await count(tenant_a, "contacts") == 1000 - len([b for b in bad if b <= 1000])
    # no progress for a while: the page offers to resume; both the original job and the resume
    # then run, and the second to arrive finds nothing left (no row is imported twice)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "update crm_imports set updated_at = now() - interval '1 hour' where id = $1",
            uuid.UUID(import_id),
        )
    stalled = await client_a.get(f"/imports/{import_id}")
    assert "Resume after row 1,000" in stalled.text
    assert (await client_a.post_form(f"/imports/{import_id}/resume")).status_code == 303
    await run_jobs()  # continues after row 1000
    assert await count(tenant_a, "contacts") == 2500 - len(bad)
    again = await import_crm_csv({}, str(tenant_a.tenant_id), import_id)
    assert again == 0  # a finished import is not imported twice
    assert await count(tenant_a, "contacts") == 2500 - len(bad)
    finished = await client_a.post_form(f"/imports/{import_id}/resume")
    assert finished.status_code == 422 and "already finished" in finished.text


async def test_killed_import_worker_is_taken_over_without_importing_a_row_twice(
    services: dict[str, str], client_a: Any, tenant_a: Account
) -> None:
    """A real worker process is SIGKILLed mid-import: while its lease lives nobody else runs the
    import, the page says it is resuming, the takeover cron re-queues it and another worker
    finishes it from the last committed batch."""
    import asyncio
    import os
    import sys

    from app.core.lease import take_over_jobs

    await set_plan(tenant_a, "business")
    content, bad = contacts_csv(ROWS)
    import_id = import_id_of(await upload(client_a, content))
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # mapped, not queued: ours
        await conn.execute(
            "update crm_imports set status = 'queued', mapping = $2::jsonb where id = $1",
            uuid.UUID(import_id),
            '{"0": "first_name", "1": "last_name", "2": "emails"}',
        )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crm.import_worker", str(tenant_a.tenant_id), import_id,
        env={**os.environ, **services, "JOB_LEASE_SECONDS": "3"},
    )  # fmt: skip
    for _ in range(1500):  # until a couple of batches are committed
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            done = await conn.fetchval(
                "select rows_done from crm_imports where id = $1", uuid.UUID(import_id)
            )
        if done >= 2000:
            break
        await asyncio.sleep(0.02)
    proc.kill()
    await proc.wait()
    assert 0 < await count(tenant_a, "contacts") < ROWS - len(bad)
    assert await import_crm_csv({}, str(tenant_a.tenant_id), import_id) == 0  # lease alive
    await asyncio.sleep(3.2)  # the dead worker's lease runs out
    assert "Resuming after an interruption" in (await client_a.get(f"/imports/{import_id}")).text
    assert await take_over_jobs() >= 1
    await run_jobs()
    assert await count(tenant_a, "contacts") == ROWS - len(bad)  # none twice, none lost
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import finished" in page


async def test_import_encodings_and_bad_files(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    latin = "Vorname;Nachname;E-Mail\nJürgen;Müller;jm@example.de\nRené;Français;rf@example.fr\n"
    import_id = import_id_of(await upload(client_a, latin.encode("cp1252")))
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "isn't UTF-8, so we read it as Windows-1252" in page
    assert "Jürgen" in page and "Müller" in page  # semicolons detected, decoded right
    bom = "\ufeffName,Email\nZoë Ünal,zoe@example.com\n".encode()
    bom_id = import_id_of(await upload(client_a, bom))
    bom_page = html.unescape((await client_a.get(f"/imports/{bom_id}")).text)
    assert "Zoë Ünal" in bom_page and "Windows-1252" not in bom_page
    assert re.search(r'name="col_0".*?<option value="full_name" selected', bom_page, re.S)

    cases = [
        (b"", "The file is empty."),
        (b"Name,Email\n", "no rows to import"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "it is binary"),
        ("Name\n".encode("utf-16"), "UTF-16"),
    ]
    for content, message in cases:
        response = await upload(client_a, content)
        assert response.status_code == 422, message
        assert message in html.unescape(response.text), message
    nofile = await client_a.post(
        "/imports",
        data={"kind": "contacts"},
        files={"other": ("x.txt", b"x")},
        headers={"X-CSRF-Token": client_a.csrf},
    )
    assert nofile.status_code == 422 and "Choose a CSV file" in nofile.text
    wrong_kind = await upload(client_a, b"a,b\n1,2\n", kind="invoices")
    assert wrong_kind.status_code == 422
    assert "Choose contacts, companies or deals." in wrong_kind.text
    huge = await client_a.post(
        "/imports",
        content=b"--x--\r\n",
        headers={
            "X-CSRF-Token": client_a.csrf,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(2 * 1024**3),
        },
    )
    assert huge.status_code == 413 and "larger than 1 GB" in huge.text

    # missing and doubled columns in the mapping: inline errors, nothing queued
    unmapped = await client_a.post_form(f"/imports/{bom_id}/run", {"col_1": "emails"})
    assert unmapped.status_code == 422
    assert "Map a column to the first name, last name or full name." in unmapped.text
    doubled = await client_a.post_form(
        f"/imports/{bom_id}/run", {"col_0": "emails", "col_1": "emails"}
    )
    assert doubled.status_code == 422 and "is already mapped to it" in html.unescape(doubled.text)
    assert (await client_a.get(f"/imports/{uuid.uuid4()}")).status_code == 404

    # a company import with a ragged row and an over-long name
    companies = (
        "Company,Website,Industry\nInitech,initech.com,Software\n"
        "Too,many,fields,=HYPERLINK(1)\n"
        + "X" * 300
        + ",x.com,y\nHooli,https://hooli.xyz/about,Tech\n"
    ).encode()
    company_import = import_id_of(await upload(client_a, companies, kind="companies"))
    run = await client_a.post_form(
        f"/imports/{company_import}/run", {"col_0": "name", "col_1": "domain", "col_2": "industry"}
    )
    assert run.status_code == 303
    await run_jobs()
    done = html.unescape((await client_a.get(f"/imports/{company_import}")).text)
    assert "2 imported" in done and "2 failed" in done
    listing = await client_a.get("/companies")
    assert "Initech" in listing.text and "hooli.xyz" in listing.text
    report = (await client_a.get(f"/imports/{company_import}/errors.csv")).text
    assert "The row has 4 fields but the header has 3." in report and "at most 200" in report
    assert "'=HYPERLINK(1)" in report  # not a live formula in a spreadsheet
    assert "Initech" not in (await client_b.get("/companies")).text


async def test_upload_stream_limit(tmp_path: Path) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    body += b"x" * 5000 + b"\r\n--b--\r\n"

    async def chunks() -> Any:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    target = tmp_path / "up.part"
    with pytest.raises(UploadTooLarge):
        await receive_upload("multipart/form-data; boundary=b", chunks(), "file", target, 4096)
    assert not target.exists()  # the partial file is gone
    result = await receive_upload(
        "multipart/form-data; boundary=b", chunks(), "file", target, 10000
    )
    assert result.size == 5000 and target.read_bytes() == b"x" * 5000


async def test_import_stops_at_a_broken_row_and_says_where(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await set_plan(tenant_a, "pro")
    rows = [f"Person{i},p{i}@example.com" for i in range(1, 1201)]
    rows[1099] = "Huge," + "x" * 200_000  # past csv's field size limit: the file breaks here
    content = ("Name,Email\n" + "\n".join(rows) + "\n").encode()
    import_id = import_id_of(await upload(client_a, content))
    mapping = {"col_0": "full_name", "col_1": "emails"}
    assert (await client_a.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
    await run_jobs()
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import stopped" in page
    assert "The file stops being valid CSV after row 1000" in page
    assert "Rows before it were imported." in page and "Resume after row 1,000" in page
    assert await count(tenant_a, "contacts") == 1000
    assert await count(tenant_b, "contacts") == 0


async def test_import_stops_at_the_plan_limit_and_resumes_after_an_upgrade(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """On Free (500 contacts and companies) a 2,700-row file imports what fits and stops there,
    saying so, without an error row per remaining row (bad rows before the limit are still
    reported); after an upgrade the import resumes from the next row. B is not affected."""
    await set_plan(tenant_b, "business")
    lines = [f"Ann{i},Lee{i}\n" if i != 3 else ",\n" for i in range(1, 2701)]
    import_id = import_id_of(
        await upload(client_a, ("First Name,Last Name\n" + "".join(lines)).encode())
    )
    mapping = {"col_0": "first_name", "col_1": "last_name"}
    assert (await client_a.post_form(f"/imports/{import_id}/run", mapping)).status_code == 303
    await run_jobs()
    assert await count(tenant_a, "contacts") == 500
    page = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import stopped" in page
    assert "Stopped at row 502: the Free plan's limit of 500 contacts and companies" in page
    assert "Upgrade in Settings → Billing, then resume the import." in page
    assert "Resume after row 501" in page
    report = list(
        csv.reader(io.StringIO((await client_a.get(f"/imports/{import_id}/errors.csv")).text))
    )
    assert [int(r[0]) for r in report[1:]] == [3]  # the one bad row, nothing past the limit
    async with tenant_transaction(tenant_a.tenant_id) as c:
        state = await c.fetchrow(
            "select rows_done, rows_failed from crm_imports where id = $1", uuid.UUID(import_id)
        )
    assert (state["rows_done"], state["rows_failed"]) == (501, 1)

    await set_plan(tenant_a, "pro")
    assert (await client_a.post_form(f"/imports/{import_id}/resume")).status_code == 303
    await run_jobs()
    assert await count(tenant_a, "contacts") == 2699
    done = html.unescape((await client_a.get(f"/imports/{import_id}")).text)
    assert "Import finished" in done and "2,699 imported" in done and "1 failed" in done
    assert await count(tenant_b, "contacts") == 0
