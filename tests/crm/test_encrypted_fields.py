"""Contacts' emails/phones, note bodies and failed import rows are encrypted at rest: the database
holds ciphertext only, the UI and the export show plaintext, exact search uses the blind index,
key rotation re-encrypts every tenant; another tenant sees none of it."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from typing import Any

import msgspec

from app.core import crypto
from app.security import rotation
from app.settings import get_settings
from tests.crm.test_import import import_id_of, upload
from tests.crm.test_notes_tasks import add_colleague, notifications_of
from tests.crm.test_records import make_contact
from tests.helpers import Account, run_jobs, version_on

A_EMAIL, A_PHONE = "Marge.Bouvier@Springfield.example", "+1 (555) 0199-42"
B_EMAIL = "selma.bouvier@shelbyville.example"
NOTE = "Marge's blue hair appointment is on Tuesday"


async def tenant_rows(owner: Any, tenant_id: uuid.UUID, sql: str) -> list[str]:
    """Every row of `sql` as its raw text, read as the table owner inside the tenant."""
    async with owner.transaction():
        await owner.execute("select set_config('app.tenant_id', $1, true)", str(tenant_id))
        return [r[0] for r in await owner.fetch(sql)]


async def test_contacts_and_notes_are_sealed_searchable_and_rotated(
    app: Any,
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    owner_conn: Any,
    monkeypatch: Any,
) -> None:
    contact = await make_contact(
        client_a, "Marge", "Simpson", emails=f"{A_EMAIL}, marge@home.example", phones=A_PHONE
    )
    other = await make_contact(client_b, "Selma", "Bouvier", emails=B_EMAIL, phones="+1 555 0100")
    colleague = await add_colleague(tenant_a, "Mentioned")  # the mention is parsed, not stored
    note = await client_a.post_form(
        f"/records/contact/{contact}/notes", {"body": f"{NOTE} cc @{colleague.email}"}
    )
    assert note.status_code == 303
    b_note = await client_b.post_form(f"/records/contact/{other}/notes", {"body": "Selma's note"})
    assert b_note.status_code == 303
    # a second edit puts the emails into the timeline diff, which must not hold them either
    edited = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {
            "first_name": "Marge",
            "last_name": "Simpson",
            "emails": A_EMAIL,
            "phones": A_PHONE,
            "version": await version_on(client_a, f"/contacts/{contact}/edit"),
        },
    )
    assert edited.status_code == 303
    imported = import_id_of(
        await upload(
            client_a, b"Name,Email\nPatty Bouvier,patty@bad\nLisa Simpson,lisa@ok.example\n"
        )
    )
    run = await client_a.post_form(
        f"/imports/{imported}/run", {"col_0": "full_name", "col_1": "emails"}
    )
    assert run.status_code == 303
    await run_jobs()

    # the database (read raw as the owner) holds no plaintext email, phone or note body
    secrets = (A_EMAIL, "marge@home", "(555) 0199", NOTE[:20], "patty@bad", "lisa@ok")
    for table in ("contacts", "notes", "activities", "notifications", "crm_import_errors"):
        dump = "\n".join(
            await tenant_rows(owner_conn, tenant_a.tenant_id, f"select t::text from {table} t")
        ).lower()
        assert dump, table
        assert not [s for s in secrets if s.lower() in dump], table
    sealed = await tenant_rows(
        owner_conn, tenant_a.tenant_id, "select array_to_string(emails_enc, ' ') from contacts"
    )
    assert all(crypto.is_encrypted(v) for row in sealed for v in row.split())

    mention = await notifications_of(colleague, tenant_a.tenant_id)
    assert [n["title"] for n in mention] == ["Owner A mentioned you on Marge Simpson"]

    # the UI shows them decrypted
    detail = await client_a.get(f"/contacts/{contact}")
    assert f"mailto:{A_EMAIL}" in detail.text and f"tel:{A_PHONE}" in detail.text
    assert NOTE.replace("'", "&#39;") in detail.text
    assert "marge@home.example" not in detail.text  # removed by the edit
    assert "2 email addresses → 1 email address" in detail.text
    errors = await client_a.get(f"/imports/{imported}/errors.csv")
    assert "patty@bad" in errors.text

    # exact email (any case) and phone digits find the contact; a fragment or B's email doesn't
    for query in (A_EMAIL, A_EMAIL.upper(), "  marge.bouvier@springfield.EXAMPLE ", "15550199-42"):
        found = await client_a.get("/contacts", params={"q": query})
        assert f"/contacts/{contact}" in found.text, query
    for query in ("springfield.example", B_EMAIL, "+1 555 0100"):
        missing = await client_a.get("/contacts", params={"q": query})
        assert "No contacts match" in missing.text, query
    assert f"/contacts/{other}" in (await client_b.get("/contacts", params={"q": B_EMAIL})).text
    assert "No contacts match" in (await client_b.get("/contacts", params={"q": A_EMAIL})).text

    # rotation: a new key in front; the job re-encrypts contacts and notes of both tenants
    original = get_settings().field_keys
    spec = crypto.new_key_spec("crm2") + "," + original
    patched = msgspec.structs.replace(get_settings(), field_keys=spec)
    monkeypatch.setattr(crypto, "get_settings", lambda: patched)
    assert await rotation.rotate_field_keys(None) >= 6
    for account in (tenant_a, tenant_b):
        values = await tenant_rows(
            owner_conn,
            account.tenant_id,
            "select unnest(emails_enc || phones_enc) from contacts"
            " union all select body_enc from notes union all select unnest(raw)"
            " from crm_import_errors",
        )
        assert values and {crypto.key_id_of(v) for v in values} == {"crm2"}, account.email
        assert all(crypto.is_bound(v) for v in values)  # bound to their rows (enc2)
    detail = await client_a.get(f"/contacts/{contact}")
    assert f"mailto:{A_EMAIL}" in detail.text and NOTE.replace("'", "&#39;") in detail.text
    b_detail = await client_b.get(f"/contacts/{other}")
    assert f"mailto:{B_EMAIL}" in b_detail.text and "Selma&#39;s note" in b_detail.text
    assert (
        A_EMAIL not in b_detail.text
        and (await client_b.get(f"/contacts/{contact}")).status_code == 404
    )

    # the export decrypts them (contacts.csv and notes.csv) for A only
    assert (await client_a.post_form("/settings/export", {})).status_code == 303
    await run_jobs()
    page = await client_a.get("/settings/export")
    export_id = re.findall(r'id="export-([0-9a-f-]{36})"', page.text)[0]
    archive = zipfile.ZipFile(
        io.BytesIO((await client_a.get(f"/settings/export/{export_id}/download")).content)
    )
    contacts = list(csv.DictReader(io.StringIO(archive.read("contacts.csv").decode())))
    marge = next(c for c in contacts if c["Contact id"] == contact)
    assert marge["Emails"] == A_EMAIL and marge["Phones"] == A_PHONE
    assert "emails_bidx" not in marge and B_EMAIL not in archive.read("contacts.csv").decode()
    notes = list(csv.DictReader(io.StringIO(archive.read("notes.csv").decode())))
    assert [n["Note"].split(" cc @")[0] for n in notes] == [NOTE]

    # back under the ring the rest of the session uses (the database is shared by every test)
    restore = msgspec.structs.replace(patched, field_keys=original + "," + spec.split(",")[0])
    monkeypatch.setattr(crypto, "get_settings", lambda: restore)
    assert await rotation.rotate_field_keys(None) >= 6
