"""Attachments: upload → list → download → export → erasure and purge; sniffing, plan limits,
two workspaces, roles and hostile file names."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from PIL import Image

from app.accounts.services import load_current
from app.attachments import store
from app.attachments.sniff import sniff
from app.core.crypto import DecryptionError
from app.core.db import global_transaction, tenant_transaction
from app.privacy import deletion
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account, browser_client, run_jobs, set_plan
from tests.invoices.test_invoices import make_invoice
from tests.privacy.test_export import download_export
from tests.security.helpers import add_member

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ATTACHMENT_LINK = re.compile(r'href="/attachments/([0-9a-f-]{36})/download"')


def png_bytes(size: tuple[int, int] = (600, 400)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


async def attach(
    client: Any, record: str, name: str, content: bytes, *, htmx: bool = True, ctype: str = ""
) -> Any:
    if not client.csrf:
        await client.refresh_csrf("/app")
    headers = {"X-CSRF-Token": client.csrf}
    if htmx:
        headers["HX-Request"] = "true"
    return await client.post(
        f"/records/{record}/attachments",
        files={"file": (name, content, ctype or "application/octet-stream")},
        headers=headers,
    )


async def ids_on(client: Any, record: str) -> list[str]:
    page = await client.get(f"/records/{record}/attachments", headers={"HX-Request": "true"})
    assert page.status_code == 200, page.text[:500]
    # the record page's Files card swaps this in: the card alone, never a second layout
    assert page.text.lstrip().startswith('<div id="attachments"'), page.text[:200]
    whole = await client.get(f"/records/{record}/attachments")  # opened directly: a page
    assert whole.text.lstrip().lower().startswith("<!doctype html")
    return ATTACHMENT_LINK.findall(page.text)


def stored_files(tenant_id: UUID) -> list[Path]:
    folder = store.root() / str(tenant_id)
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_upload_list_download_export_and_erase(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    contact = await make_contact(client_a, "Ada", "Lovelace")
    record = f"contact/{contact}"
    response = await attach(client_a, record, "notes.pdf", PDF, ctype="text/html")
    assert response.status_code == 200, response.text[:1000]
    assert "notes.pdf" in response.text
    image = png_bytes()
    assert (await attach(client_a, record, "photo.png", image, htmx=False)).status_code == 303
    png_id, pdf_id = await ids_on(client_a, record)  # newest first

    # the record page shows the Files card (the slot), the timeline says what happened
    page = await client_a.get(f"/contacts/{contact}")
    assert f"/records/contact/{contact}/attachments" in page.text
    assert "attached the file notes.pdf" in page.text and "attached the file photo.png" in page.text

    # downloads: the same bytes, the sniffed type (not the browser's), safe headers
    inline = await client_a.get(f"/attachments/{pdf_id}")
    assert inline.status_code == 200 and inline.content == PDF
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith('inline; filename="notes.pdf"')
    assert inline.headers["x-content-type-options"] == "nosniff"
    download = await client_a.get(f"/attachments/{pdf_id}/download")
    assert download.content == PDF
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment;")
    thumb = await client_a.get(f"/attachments/{png_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= store.THUMBNAIL_PX
    assert (await client_a.get(f"/attachments/{png_id}")).content == image
    assert (await client_a.get(f"/attachments/{pdf_id}/thumbnail")).status_code == 404

    # at rest the bytes are encrypted, bound to the workspace and the attachment
    files = stored_files(tenant_a.tenant_id)
    assert len(files) == 3  # two files, one thumbnail
    for path in files:
        assert PDF not in path.read_bytes() and b"IHDR" not in path.read_bytes()
    other = UUID(png_id)
    (store.root() / str(tenant_a.tenant_id) / f"{other}.bin").write_bytes(
        (store.root() / str(tenant_a.tenant_id) / f"{pdf_id}.bin").read_bytes()
    )
    try:
        b"".join(store.read(tenant_a.tenant_id, other))
        raise AssertionError("a file copied to another attachment must not decrypt")
    except DecryptionError:
        pass
    assert (await client_a.get(f"/attachments/{png_id}")).status_code == 404

    # another workspace: every route answers 404 for these ids and this record
    for url in (
        f"/attachments/{pdf_id}",
        f"/attachments/{pdf_id}/download",
        f"/attachments/{png_id}/thumbnail",
        f"/records/{record}/attachments",
    ):
        assert (await client_b.get(url)).status_code == 404, url
    assert (await client_b.post_form(f"/attachments/{pdf_id}/delete")).status_code == 404
    assert (await attach(client_b, record, "x.txt", b"hello")).status_code == 404

    # the workspace export holds the files and lists them
    archive = await download_export(client_a)
    names = archive.namelist()
    pdf_path = next(n for n in names if n.startswith(f"attachments/contact/{pdf_id}-"))
    assert archive.read(pdf_path) == PDF
    assert "attachments.csv" in names and "notes.pdf" in archive.read("attachments.csv").decode()

    # erasing the contact removes rows and files
    assert (await client_a.post_form(f"/privacy/contacts/{contact}/erase", {})).status_code in (
        200,
        303,
    )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from attachments") == 0
    assert stored_files(tenant_a.tenant_id) == []


async def test_each_record_kind_member_rights_and_purge(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    company = await make_company(client_a, "Globex")
    deal = await make_deal(tenant_a, "Big deal")
    invoice = await make_invoice(client_a, company, ("Anvil", "1", "100", "19"))
    for record in (f"company/{company}", f"deal/{deal}", f"invoice/{invoice}"):
        response = await attach(client_a, record, "list.csv", b"name,email\nA,a@example.com\n")
        assert response.status_code == 200, (record, response.text[:500])
    assert (
        f"/records/invoice/{invoice}/attachments"
        in (await client_a.get(f"/invoices/{invoice}")).text
    )
    assert f"/records/deal/{deal}/attachments" in (await client_a.get(f"/deals/{deal}")).text
    owners_file = (await ids_on(client_a, f"company/{company}"))[0]
    got = await client_a.get(f"/attachments/{owners_file}")
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith("attachment;")  # text is never inline

    # a member may attach and delete their own files, not someone else's
    member = await add_member(tenant_a)
    async with browser_client(client_a._transport.app) as mc:
        await mc.login(member.email, member.password)
        refused = await mc.post_form(f"/attachments/{owners_file}/delete")
        assert refused.status_code == 403
        assert await attach(mc, f"company/{company}", "mine.txt", b"my note\n")
        own = (await ids_on(mc, f"company/{company}"))[0]
        # a member's own export holds the files they attached, not the others'
        names = (await download_export(mc)).namelist()
        assert [n for n in names if n.startswith("attachments/")] == [
            f"attachments/company/{own}-mine.txt"
        ]
        assert (await mc.post_form(f"/attachments/{own}/delete")).status_code == 303
    assert owners_file in await ids_on(client_a, f"company/{company}")
    timeline = (await client_a.get(f"/companies/{company}")).text
    assert "deleted the file mine.txt" in timeline
    await run_jobs()
    assert len(stored_files(tenant_a.tenant_id)) == 3

    # the workspace purge removes rows and files
    await client_a.post_form(
        "/settings/delete", {"scope": "workspace", "password": tenant_a.password}
    )
    owner = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    pending = (await deletion.open_requests(owner))["workspace"]
    assert pending is not None
    async with global_transaction() as conn:  # the grace period is over
        await conn.execute(
            "update deletion_requests set due_at = now() - interval '1 second' where id = $1",
            pending["id"],
        )
    await deletion.purge_deletion(None, str(pending["id"]))
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from attachments") == 0
    assert stored_files(tenant_a.tenant_id) == []


async def test_sniffing_refuses_programs_and_markup(client_a: Any) -> None:
    contact = await make_contact(client_a, "Eve", "Sneaky")
    record = f"contact/{contact}"
    for name, content in (
        ("invoice.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),  # a Windows program named .pdf
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100),
        ("readme.txt", b"#!/bin/sh\nrm -rf /\n"),
        ("page.png", b"<!DOCTYPE html><script>alert(1)</script>"),
        ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("empty.txt", b""),
    ):
        response = await attach(client_a, record, name, content, ctype="image/png")
        assert response.status_code == 422, (name, response.status_code)
        assert 'id="e-attachment"' in response.text
    assert await ids_on(client_a, record) == []
    assert sniff(b"\xff\xd8\xff\xe0JFIF", "x") == "image/jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "x") == "image/webp"
    assert sniff(b"PK\x03\x04" + b"\x00" * 26 + b"word/document.xml", "x").endswith(".document")
    assert sniff(b"\x00\x01\x02binary", "x") == "application/octet-stream"
    assert sniff("Grüße, Zoë\n".encode(), "a.csv") == "text/csv"


async def test_plan_limits(client_a: Any, tenant_a: Account) -> None:
    contact = await make_contact(client_a, "Big", "Files")
    record = f"contact/{contact}"
    six_mb = b"a" * (6 * 1024 * 1024)
    refused = await attach(client_a, record, "big.txt", six_mb)
    assert refused.status_code == 413
    assert "Free plan takes files up to 5 MB" in refused.text
    just_over = b"a" * (5 * 1024 * 1024 + 1)  # within the declared-length slack: streamed
    streamed = await attach(client_a, record, "over.txt", just_over)
    assert streamed.status_code == 413 and 'id="e-attachment"' in streamed.text
    # the CSRF token in the form body (a browser without JavaScript) works too
    plain = await client_a.post(
        f"/records/{record}/attachments",
        data={"_csrf": client_a.csrf},
        files={"file": ("plain.txt", b"no script\n", "text/plain")},
    )
    assert plain.status_code == 303
    await set_plan(tenant_a, "pro")
    assert (await attach(client_a, record, "big.txt", six_mb)).status_code == 200
    # a full storage refuses the next file with the plan's total
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update attachments set size_bytes = 10 * 1024::bigint ^ 3")
    full = await attach(client_a, record, "one-more.txt", b"hello")
    assert full.status_code == 413 and "stores 10 GB of files" in full.text


async def test_hostile_file_names(client_a: Any, tenant_a: Account) -> None:
    contact = await make_contact(client_a, "Bobby", "Tables")
    record = f"contact/{contact}"
    for name in (
        "a\x00b.txt",
        "../../../etc/passwd",
        "..\\..\\boot.ini",
        "x" * 100_000 + ".txt",
        'quote".txt',
        "new\r\nline: injected.txt",
        "..",
        "",
        "\u202etxt.exe",
    ):
        response = await attach(client_a, record, name, b"just text\n")
        assert response.status_code in (200, 422), (name[:40], response.status_code)
    ids = await ids_on(client_a, record)
    assert ids
    for attachment_id in ids:
        got = await client_a.get(f"/attachments/{attachment_id}/download")
        assert got.status_code == 200 and got.content == b"just text\n"
        disposition = got.headers["content-disposition"]
        assert "\n" not in disposition and "\r" not in disposition and "/" not in disposition
    root = store.root().resolve()
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root)
    assert all(
        re.fullmatch(r"[0-9a-f-]{36}\.(bin|thumb)", p.name)
        for p in stored_files(tenant_a.tenant_id)
    )
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        names = [r["file_name"] for r in await conn.fetch("select file_name from attachments")]
    assert all(len(n) <= 255 and "/" not in n and "\x00" not in n and "\n" not in n for n in names)


async def test_missing_upload_and_junk_bodies(client_a: Any) -> None:
    contact = await make_contact(client_a, "No", "File")
    url = f"/records/contact/{contact}/attachments"
    await client_a.refresh_csrf("/app")
    headers = {"X-CSRF-Token": client_a.csrf, "HX-Request": "true"}
    no_file = await client_a.post(
        url, data={"x": "1"}, files={"other": ("a", b"b")}, headers=headers
    )
    assert no_file.status_code == 422
    junk = await client_a.post(
        url,
        content=b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=zz"},
    )
    # app/crm/upload.py's parser takes a body without its closing boundary as complete
    assert junk.status_code in (200, 422)
    not_multipart = await client_a.post(url, content=b"abc", headers=headers)
    assert not_multipart.status_code == 422
    assert (await client_a.get("/records/planet/1/attachments")).status_code == 404


async def test_key_rotation_rewrites_files(
    client_a: Any, tenant_a: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.attachments.jobs import rotate_attachment_keys
    from app.core import crypto
    from app.core.filecrypt import key_id_of_file
    from app.settings import get_settings

    contact = await make_contact(client_a, "Key", "Rotation")
    image = png_bytes((40, 30))
    assert (await attach(client_a, f"contact/{contact}", "k.png", image)).status_code == 200
    (attachment_id,) = await ids_on(client_a, f"contact/{contact}")
    original = get_settings().field_keys
    spec = crypto.new_key_spec("files2") + "," + original
    patched = msgspec.structs.replace(get_settings(), field_keys=spec)
    monkeypatch.setattr(crypto, "get_settings", lambda: patched)
    assert await rotate_attachment_keys(None) >= 2  # the file and its thumbnail
    assert await rotate_attachment_keys(None) == 0  # restartable: nothing left
    for path in stored_files(tenant_a.tenant_id):
        with path.open("rb") as handle:
            assert key_id_of_file(handle) == "files2"
    only_new = msgspec.structs.replace(patched, field_keys=spec.split(",")[0])
    monkeypatch.setattr(crypto, "get_settings", lambda: only_new)  # the old key retired
    assert (await client_a.get(f"/attachments/{attachment_id}")).content == image
    assert (await client_a.get(f"/attachments/{attachment_id}/thumbnail")).status_code == 200
    # back under the session's key, so later tests (in any workspace) read every file
    back = msgspec.structs.replace(patched, field_keys=original + "," + spec.split(",")[0])
    monkeypatch.setattr(crypto, "get_settings", lambda: back)
    assert await rotate_attachment_keys(None) >= 2


async def test_files_of_a_deleted_record_go_at_the_daily_sweep(
    client_a: Any, tenant_a: Account
) -> None:
    from app.core import datamap

    contact = await make_contact(client_a, "Gone", "Soon")
    assert (await attach(client_a, f"contact/{contact}", "a.txt", b"bye\n")).status_code == 200
    stray = store.root() / str(tenant_a.tenant_id) / "00000000-0000-4000-8000-000000000001.bin"
    stray.write_bytes(b"no row")  # a crash between the file and its row
    old = 1_000_000_000  # long ago
    os.utime(stray, (old, old))
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("delete from contacts where id = $1", UUID(contact))
    expire = datamap.place("file:attachments").expire
    assert expire is not None
    assert await expire() >= 2
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from attachments") == 0
    assert stored_files(tenant_a.tenant_id) == []


async def test_files_of_a_deleted_record_go_at_once(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from tests.helpers import version_on

    contact = await make_contact(client_a, "Delete", "Me")
    company = await make_company(client_a, "Doomed Ltd")
    deal = await make_deal(tenant_a, "Doomed deal")
    kept = await make_contact(client_a, "Keep", "Me")
    other = await make_contact(client_b, "Other", "Workspace")
    for client, record in (
        (client_a, f"contact/{contact}"),
        (client_a, f"company/{company}"),
        (client_a, f"deal/{deal}"),
        (client_a, f"contact/{kept}"),
        (client_b, f"contact/{other}"),
    ):
        assert (await attach(client, record, "f.txt", b"some text\n")).status_code == 200
    kept_id = (await ids_on(client_a, f"contact/{kept}"))[0]
    other_id = (await ids_on(client_b, f"contact/{other}"))[0]
    b_files = stored_files(tenant_b.tenant_id)

    # the other workspace can't delete these records, so nothing of theirs goes
    assert (
        await client_b.post_form(f"/contacts/{contact}/delete", {"version": "1"})
    ).status_code == 404
    assert len(stored_files(tenant_a.tenant_id)) == 4

    for path in (f"/contacts/{contact}/delete", f"/companies/{company}/delete"):
        version = await version_on(client_a, path)
        assert (await client_a.post_form(path, {"version": version})).status_code == 303
    version = await version_on(client_a, f"/deals/{deal}")
    assert (
        await client_a.post_form(f"/deals/{deal}/delete", {"version": version})
    ).status_code == 303

    # no sweep ran: rows and files of the three records are gone, the others' stay
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert [r["id"] for r in await conn.fetch("select id from attachments")] == [UUID(kept_id)]
    assert [p.name for p in stored_files(tenant_a.tenant_id)] == [f"{kept_id}.bin"]
    assert stored_files(tenant_b.tenant_id) == b_files
    assert (await client_b.get(f"/attachments/{other_id}/download")).content == b"some text\n"

    # a delete refused as stale (rolled back) keeps the record's files
    stale = await client_a.post_form(f"/contacts/{kept}/delete", {"version": "999"})
    assert stale.status_code in (409, 422)
    assert (await client_a.get(f"/attachments/{kept_id}/download")).content == b"some text\n"


async def test_files_in_an_s3_bucket(
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ATTACHMENTS_S3_BUCKET: upload, streamed download, delete, the sweep, erasure and the
    purge all work on the bucket (moto's in-process S3), nothing lands in the data dir."""
    import boto3
    from moto import mock_aws

    from app.attachments import datamap as attachments_datamap
    from app.core import datamap
    from app.settings import get_settings
    from tests.helpers import version_on

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        bucket = "odex-files-test"
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        configured = msgspec.structs.replace(
            get_settings(), attachments_s3_bucket=bucket, attachments_s3_region="us-east-1"
        )
        monkeypatch.setattr(store, "get_settings", lambda: configured)

        def keys(tenant: Account) -> list[str]:
            prefix = f"odex-attachments/{tenant.tenant_id}/"
            found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
            return sorted(str(o["Key"])[len(prefix) :] for o in found)

        contact = await make_contact(client_a, "Bucket", "Person")
        other = await make_contact(client_b, "Bucket", "Other")
        big = os.urandom(200_000)  # several encrypted segments: the download streams them
        image = png_bytes((80, 60))
        assert (await attach(client_a, f"contact/{contact}", "big.bin", big)).status_code == 200
        assert (await attach(client_a, f"contact/{contact}", "p.png", image)).status_code == 200
        assert (await attach(client_b, f"contact/{other}", "b.pdf", PDF)).status_code == 200
        png_id, big_id = await ids_on(client_a, f"contact/{contact}")
        (b_id,) = await ids_on(client_b, f"contact/{other}")

        # the processors page names the bucket's provider
        from app.privacy.processors import processors

        listed = {str(p["category"]): p for p in processors(configured)}
        assert listed["file storage"]["name"] == "Amazon S3 (AWS)"
        assert "file storage" not in {str(p["category"]) for p in processors(get_settings())}

        # in the bucket, under each workspace's prefix, encrypted; nothing in the data dir
        assert keys(tenant_a) == sorted([f"{big_id}.bin", f"{png_id}.bin", f"{png_id}.thumb"])
        assert keys(tenant_b) == [f"{b_id}.bin"]
        assert stored_files(tenant_a.tenant_id) == [] and stored_files(tenant_b.tenant_id) == []
        sealed = s3.get_object(
            Bucket=bucket, Key=f"odex-attachments/{tenant_a.tenant_id}/{big_id}.bin"
        )["Body"].read()
        assert big[:1000] not in sealed and sealed.startswith(b"ODEXF1")

        # downloads stream the decrypted bytes back; the other workspace gets 404
        assert (await client_a.get(f"/attachments/{big_id}/download")).content == big
        assert (await client_a.get(f"/attachments/{png_id}")).content == image
        thumb = await client_a.get(f"/attachments/{png_id}/thumbnail")
        assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
        assert (await client_b.get(f"/attachments/{big_id}/download")).status_code == 404
        assert (await client_a.get(f"/attachments/{b_id}/download")).status_code == 404
        assert (await client_b.get(f"/attachments/{b_id}")).content == PDF

        # deleting a file removes its objects (file and thumbnail)
        assert (await client_a.post_form(f"/attachments/{png_id}/delete")).status_code == 303
        assert keys(tenant_a) == [f"{big_id}.bin"]

        # the sweep: an object without a row, and the files of a record deleted behind the
        # app's back, go (the age limit moved so that objects written now count as old)
        s3.put_object(
            Bucket=bucket,
            Key=f"odex-attachments/{tenant_a.tenant_id}/00000000-0000-4000-8000-000000000002.bin",
            Body=b"no row",
        )
        gone = await make_contact(client_a, "Swept", "Away")
        assert (await attach(client_a, f"contact/{gone}", "s.txt", b"sweep\n")).status_code == 200
        (swept_id,) = await ids_on(client_a, f"contact/{gone}")
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute("delete from contacts where id = $1", UUID(gone))
        monkeypatch.setattr(attachments_datamap, "SCRATCH_HOURS", -1)
        expire = datamap.place("file:attachments").expire
        assert expire is not None
        assert await expire() >= 2
        assert keys(tenant_a) == [f"{big_id}.bin"]
        assert keys(tenant_b) == [f"{b_id}.bin"]  # the other workspace's file is known: kept
        assert swept_id not in str(keys(tenant_a))

        # a deleted record's files go at once, from the bucket too
        doomed = await make_contact(client_a, "Deleted", "Record")
        assert (await attach(client_a, f"contact/{doomed}", "d.txt", b"doom\n")).status_code == 200

        version = await version_on(client_a, f"/contacts/{doomed}/delete")
        deleted = await client_a.post_form(f"/contacts/{doomed}/delete", {"version": version})
        assert deleted.status_code == 303
        assert keys(tenant_a) == [f"{big_id}.bin"]

        # erasing the contact removes its files from the bucket
        erased = await client_a.post_form(f"/privacy/contacts/{contact}/erase", {})
        assert erased.status_code in (200, 303)
        assert keys(tenant_a) == []
        assert keys(tenant_b) == [f"{b_id}.bin"]

        # the workspace purge empties the workspace's prefix, and only that one
        last = await make_contact(client_a, "Last", "File")
        assert (await attach(client_a, f"contact/{last}", "q.txt", b"q\n")).status_code == 200
        assert len(keys(tenant_a)) == 1
        purge = datamap.place("file:attachments").purge
        assert purge is not None
        assert await purge(tenant_a.tenant_id) == 1
        assert keys(tenant_a) == [] and keys(tenant_b) == [f"{b_id}.bin"]
