"""Duplicate contacts: the warning on create, the review list, and the merge of two contacts
(everything of the merged one moves; one transaction on both versions; other tenants: 404)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.core.db import tenant_transaction
from app.deals.tables import DealContact
from app.privacy.erasure import erase_contact
from tests.crm.test_activities import call_form
from tests.crm.test_import import count, import_id_of, upload
from tests.crm.test_records import created_id, make_company, make_contact
from tests.deals.helpers import current_of, make_deal
from tests.helpers import Account, run_jobs

WARNING = "This looks like a contact you already have."


async def test_create_warns_of_likely_duplicates(client_a: Any, client_b: Any) -> None:
    company = await make_company(client_a, "Initech")
    first = await make_contact(
        client_a, "Peter", "Gibbons", emails="peter@initech.com", phones="+1 555 0199"
    )
    same_name = await make_contact(client_a, "Bill", "Lumbergh", company_id=company)
    cases = [
        {"first_name": "Pete", "emails": "PETER@initech.com"},  # email, any case
        {"first_name": "P.", "phones": "1-555-0199"},  # phone, other spacing
        {"first_name": " bill ", "last_name": "LUMBERGH", "company_id": company},  # name+company
    ]
    for data, existing in zip(cases, (first, first, same_name), strict=True):
        refused = await client_a.post_form("/contacts/new", data, htmx=True)
        assert refused.status_code == 422, (data, refused.text[:500])
        assert WARNING in refused.text and f"/contacts/{existing}" in refused.text
        assert 'name="create_anyway"' in refused.text
    # the same name without a company is no duplicate; "Create anyway" creates it
    await make_contact(client_a, "Bill", "Lumbergh")
    anyway = await client_a.post_form(
        "/contacts/new", {"first_name": "Pete", "emails": "peter@initech.com", "create_anyway": "1"}
    )
    created_id(anyway, "contacts")
    # another workspace's contacts are not matched (nor shown)
    other = await client_b.post_form(
        "/contacts/new", {"emails": "peter@initech.com", "first_name": "P"}
    )
    created_id(other, "contacts")
    hostile = await client_a.post_form(
        "/contacts/new", {"first_name": "X", "create_anyway": "maybe"}, htmx=True
    )
    assert hostile.status_code == 422


async def test_duplicates_list(client_a: Any, client_b: Any) -> None:
    first = await make_contact(client_a, "Milton", "Waddams", emails="milton@initech.com")
    second = await client_a.post_form(
        "/contacts/new",
        {"first_name": "M", "last_name": "W", "emails": "milton@initech.com", "create_anyway": "1"},
    )
    second_id = created_id(second, "contacts")
    page = await client_a.get("/contacts/duplicates")
    assert page.status_code == 200 and first in page.text and second_id in page.text
    assert "Same email address" in page.text and "1 pairs" in page.text
    theirs = await client_b.get("/contacts/duplicates")
    assert theirs.status_code == 200 and first not in theirs.text
    for query in ("?page=abc", "?page=-1", "?page=9999"):
        assert (await client_a.get("/contacts/duplicates" + query)).status_code == 200


async def _counts(account: Account, contact: str) -> dict[str, int]:
    """Rows that belong to the contact, per table."""
    cid = UUID(contact)
    async with tenant_transaction(account.tenant_id) as conn:
        counts = {}
        for table in ("notes", "tasks", "attachments", "activities"):
            counts[table] = await conn.fetchval(
                f"select count(*) from {table} where subject_type = 'contact' and subject_id = $1",
                cid,
            )
        counts["participant"] = await conn.fetchval(
            "select count(*) from tasks where $1 = any(participant_ids)", cid
        )
        counts["deal_contacts"] = await conn.fetchval(
            "select count(*) from deal_contacts where contact_id = $1", cid
        )
        counts["contacts"] = await conn.fetchval("select count(*) from contacts where id = $1", cid)
    return counts


async def attach(account: Account, record: str, kind: str = "contact") -> None:
    """A (stand-in) attachment on the record."""
    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "insert into attachments (id, tenant_id, subject_type, subject_id, file_name,"
            " content_type, size_bytes, sha256) values ($1, $2, $4, $3, 'a.txt',"
            " 'text/plain', 1, repeat('0', 64))",
            uuid.uuid4(),
            account.tenant_id,
            UUID(record),
            kind,
        )


async def test_merge_moves_everything(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    keep = await make_contact(client_a, "Samir", "N", emails="samir@initech.com", tags="dev")
    gone = await make_contact(
        client_a,
        "Samir",
        "Nagheenanajar",
        emails="s.nagheenanajar@initech.com",
        phones="+1 555 0123",
        title="Engineer",
        tags="dev, printer",
    )
    for contact in (keep, gone):
        note = await client_a.post_form(f"/records/contact/{contact}/notes", {"body": "hello"})
        assert note.status_code in (200, 303)
    task = await client_a.post_form(f"/records/contact/{gone}/tasks", {"title": "Fix printer"})
    assert task.status_code in (200, 303)
    call = await client_a.post_form(
        f"/records/contact/{keep}/tasks", call_form(participant_ids=gone)
    )
    assert call.status_code in (200, 303), call.text[:500]
    both = await make_deal(tenant_a, "Both", contact_ids=keep)
    await make_deal(tenant_a, "Gone only", contact_ids=gone)
    async with tenant_transaction(tenant_a.tenant_id):  # a deal of both
        link = DealContact(tenant_id=tenant_a.tenant_id, deal_id=both, contact_id=UUID(gone))
        await DealContact.insert(link)
    await attach(tenant_a, gone)
    before_keep, before_gone = await _counts(tenant_a, keep), await _counts(tenant_a, gone)
    assert before_gone["deal_contacts"] == 2 and before_gone["participant"] == 1

    picker = await client_a.get(f"/contacts/{keep}/merge")  # from the contact's page
    assert picker.status_code == 200 and "/search/pick/contacts" in picker.text
    assert f'href="/contacts/{keep}/merge"' in (await client_a.get(f"/contacts/{keep}")).text
    assert (await client_b.get(f"/contacts/{keep}/merge")).status_code == 404
    page = await client_a.get(f"/contacts/{keep}/merge?other={gone}")
    assert page.status_code == 200 and "Nagheenanajar" in page.text
    # another workspace can neither see nor merge them; hostile input is refused
    assert (await client_b.get(f"/contacts/{keep}/merge?other={gone}")).status_code == 404
    stranger = await make_contact(client_b, "Other", "Tenant")
    assert (await client_a.get(f"/contacts/{keep}/merge?other={stranger}")).status_code == 404
    assert (await client_a.get(f"/contacts/{keep}/merge?other=nope")).status_code == 422
    form = {"other_id": gone, "version": "1", "other_version": "1", "last_name": "other"}
    theirs = await client_b.post_form(f"/contacts/{keep}/merge", form)
    assert theirs.status_code == 404
    into_stranger = await client_a.post_form(
        f"/contacts/{keep}/merge", {**form, "other_id": stranger}
    )
    assert into_stranger.status_code == 404
    for bad in ({"last_name": "mine"}, {"other_id": keep}, {"other_id": "x"}, {"version": "z"}):
        refused = await client_a.post_form(f"/contacts/{keep}/merge", {**form, **bad})
        assert refused.status_code == 422, (bad, refused.status_code)
    stale = await client_a.post_form(f"/contacts/{keep}/merge", {**form, "other_version": "7"})
    assert stale.status_code == 409
    assert (await _counts(tenant_a, gone))["contacts"] == 1  # nothing happened

    merged = await client_a.post_form(f"/contacts/{keep}/merge", {**form, "title": "other"})
    assert merged.status_code in (200, 303), merged.text[:800]
    after_keep, after_gone = await _counts(tenant_a, keep), await _counts(tenant_a, gone)
    assert after_gone == {
        "notes": 0,
        "tasks": 0,
        "attachments": 0,
        "activities": before_gone["activities"],  # the originals stay, blanked
        "participant": 0,
        "deal_contacts": 0,
        "contacts": 0,
    }
    for table in ("notes", "tasks", "attachments"):
        assert after_keep[table] == before_keep[table] + before_gone[table], table
    # the copied timeline, the merge entry; both deals once; the call names the survivor
    assert after_keep["activities"] == before_keep["activities"] + before_gone["activities"] + 1
    assert after_keep["deal_contacts"] == 2 and after_keep["participant"] == 1
    detail = await client_a.get(f"/contacts/{keep}")
    assert "Nagheenanajar" in detail.text and "Engineer" in detail.text
    assert "samir@initech.com" in detail.text and "s.nagheenanajar@initech.com" in detail.text
    assert "merged Samir Nagheenanajar into this contact" in detail.text
    assert "printer" in detail.text
    assert (await client_a.get(f"/contacts/{gone}")).status_code == 404
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        old = await conn.fetch("select summary from activities where subject_id = $1", UUID(gone))
        assert {r["summary"] for r in old} == {"merged into another contact"}
    # the stranger of tenant b is untouched
    assert (await _counts(tenant_b, stranger))["contacts"] == 1


CSV = (
    b"First Name,Last Name,Email,Title,Phone\n"
    b"Michael,Bolton,michael@initech.com,Programmer,+1 555 0111\n"
    b"Tom,Smykowski,tom@initech.com,Liaison,\n"
    b"Joanna,,joanna@chotchkies.com,Waitress,\n"
    b"Jo,Anna,JOANNA@chotchkies.com,,+1 555 0222\n"  # the same person twice in one file
)
MAPPING = {
    "col_0": "first_name",
    "col_1": "last_name",
    "col_2": "emails",
    "col_3": "title",
    "col_4": "phones",
}


async def _import(client: Any, on_duplicate: str | None) -> int:
    import_id = import_id_of(await upload(client, CSV))
    page = await client.get(f"/imports/{import_id}")
    assert "Update contacts with the same email" in page.text
    form = MAPPING if on_duplicate is None else {**MAPPING, "on_duplicate": on_duplicate}
    started = await client.post_form(f"/imports/{import_id}/run", form)
    assert started.status_code == 303, started.text[:500]
    return await run_jobs()


async def test_import_updates_known_contacts_instead_of_duplicating(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    known = await make_contact(client_a, "Mike", "B", emails="MICHAEL@initech.com", tags="dev")
    await make_contact(client_b, "Michael", "Other", emails="michael@initech.com")
    await _import(client_a, None)  # the default: update
    assert await count(tenant_a, "contacts") == 3
    detail = (await client_a.get(f"/contacts/{known}")).text
    assert "Michael" in detail and "Bolton" in detail and "Programmer" in detail
    assert "+1 555 0111" in detail and "dev" in detail
    # re-importing the same file creates nothing new, whether updating or skipping
    await _import(client_a, "update")
    await _import(client_a, "skip")
    assert await count(tenant_a, "contacts") == 3
    assert await count(tenant_b, "contacts") == 1  # the other workspace's twin: untouched
    await _import(client_a, "create")
    assert await count(tenant_a, "contacts") == 7  # "create" keeps every row
    import_id = import_id_of(await upload(client_a, CSV))
    hostile = await client_a.post_form(
        f"/imports/{import_id}/run", {**MAPPING, "on_duplicate": "merge'; drop table x"}
    )
    assert hostile.status_code == 422


async def test_erasure_reaches_what_a_merge_brought(client_a: Any, tenant_a: Account) -> None:
    keep = await make_contact(client_a, "Lawrence", "N", emails="lawrence@example.com")
    gone = await make_contact(client_a, "Larry", "Neighbour", emails="larry@example.com")
    await client_a.post_form(f"/records/contact/{gone}/notes", {"body": "fence"})
    form = {"other_id": gone, "version": "1", "other_version": "1"}
    merged = await client_a.post_form(f"/contacts/{keep}/merge", form)
    assert merged.status_code in (200, 303), merged.text[:500]
    await erase_contact(await current_of(tenant_a), UUID(keep))
    counts = await _counts(tenant_a, keep)
    assert counts["contacts"] == 0 and counts["notes"] == 0
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        texts = await conn.fetch(
            "select summary, changes::text as changes from activities where subject_id = any($1)",
            [UUID(keep), UUID(gone)],
        )
    assert texts and not any("Larry" in r["summary"] or "Larry" in r["changes"] for r in texts)
