"""Duplicate companies: the keys (name without case, punctuation and legal forms; the web
domain), the warning on create, the review list, and the merge of two companies (every row of
every tenant table that references either moves to the survivor; one transaction on both
versions; roles; other tenants: 404; hostile input: 422)."""

from __future__ import annotations

import re
import time
from typing import Any
from uuid import UUID

from app.core.db import tenant_transaction
from app.crm import company_duplicates
from app.crm.duplicates import PAGE_SIZE
from tests.crm.test_duplicates_merge import attach
from tests.crm.test_import import count, import_id_of, upload
from tests.crm.test_records import created_id, make_company, make_contact
from tests.deals.helpers import add_colleague, make_deal
from tests.helpers import Account, browser_client, run_jobs
from tests.invoices.test_invoices import make_invoice

WARNING = "This looks like a company you already have."


async def test_name_and_domain_keys(tenant_a: Account) -> None:
    names = {
        "Initech Ltd.": "initech",
        "  INITECH, Inc ": "initech",
        "Initech GmbH & Co. KG": "initech",
        "Hooli B.V.": "hooli",
        "Hooli S.A.": "hooli",
        "O'Brien Sons": "obrien sons",
        "Ltd": "ltd",  # only a legal form: kept
        "Müller AG": "müller",
        "...": None,
    }
    domains = {
        "https://www.Initech.com/about": "initech.com",
        "initech.com.": "initech.com",
        "www.hooli.xyz": "hooli.xyz",
        "": None,
    }
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        for name, key in names.items():
            assert await conn.fetchval("select company_name_key($1)", name) == key, name
        for domain, key in domains.items():
            assert await conn.fetchval("select company_domain_key($1)", domain) == key, domain


async def test_create_warns_of_likely_duplicates(client_a: Any, client_b: Any) -> None:
    first = await make_company(client_a, "Initech Ltd.", domain="initech.com")
    cases = [
        {"name": "INITECH, Inc"},  # the name, legal form and punctuation aside
        {"name": "Initrode", "domain": "https://www.initech.com/contact"},  # the domain
    ]
    for data in cases:
        refused = await client_a.post_form("/companies/new", data, htmx=True)
        assert refused.status_code == 422, (data, refused.text[:500])
        assert WARNING in refused.text and f"/companies/{first}" in refused.text
        assert 'name="create_anyway"' in refused.text and "Open existing" in refused.text
    page = await client_a.post_form("/companies/new", {"name": "initech"})  # as a page
    assert page.status_code == 422 and WARNING in page.text
    initrode = await make_company(client_a, "Initrode", domain="initrode.com")  # no duplicate
    anyway = await client_a.post_form("/companies/new", {"name": "Initech", "create_anyway": "1"})
    twin = created_id(anyway, "companies")
    # an edit warns when it gives the company another's domain or name, not otherwise
    edit = {"name": "Initrode", "domain": "initech.com", "version": "1"}
    refused = await client_a.post_form(f"/companies/{initrode}/edit", edit, htmx=True)
    assert refused.status_code == 422 and WARNING in refused.text and "Save anyway" in refused.text
    saved = await client_a.post_form(f"/companies/{initrode}/edit", {**edit, "create_anyway": "1"})
    assert saved.status_code == 303, saved.text[:500]
    kept = {"name": "Initech", "industry": "Software", "version": "1"}
    assert (await client_a.post_form(f"/companies/{twin}/edit", kept)).status_code == 303
    # another workspace's companies are neither matched nor shown
    await make_company(client_b, "Initech Ltd", domain="initech.com")
    for hostile in (
        {"name": "X", "create_anyway": "maybe"},
        {"name": "Init\x00ech"},
        {"name": "I" * 100_000},
        {"name": "Initech", "domain": "\x07initech.com"},
    ):
        refused = await client_a.post_form("/companies/new", hostile, htmx=True)
        assert refused.status_code == 422, hostile


async def test_duplicates_list(client_a: Any, client_b: Any, tenant_a: Account) -> None:
    first = await make_company(client_a, "Vandelay Industries", domain="vandelay.com")
    second = created_id(
        await client_a.post_form(
            "/companies/new", {"name": "Vandelay Industries Ltd", "create_anyway": "1"}
        ),
        "companies",
    )
    third = created_id(
        await client_a.post_form(
            "/companies/new",
            {"name": "Kramerica", "domain": "www.vandelay.com", "create_anyway": "1"},
        ),
        "companies",
    )
    page = await client_a.get("/companies/duplicates")
    assert page.status_code == 200
    assert first in page.text and second in page.text and third in page.text
    assert "Same name" in page.text and "Same website domain" in page.text
    assert "2 pairs" in page.text
    assert 'href="/companies/duplicates"' in (await client_a.get("/companies")).text
    theirs = await client_b.get("/companies/duplicates")
    assert theirs.status_code == 200 and first not in theirs.text
    for query in ("?page=abc", "?page=-1", "?page=9999", "?page=%00"):
        assert (await client_a.get("/companies/duplicates" + query)).status_code == 200


async def _references(account: Account, ids: list[str]) -> dict[str, int]:
    """Rows of every tenant table the app role reads that reference one of the companies:
    by company_id, by subject (notes, tasks, attachments, activities, …), by record (search
    entries), and the companies themselves."""
    wanted = [UUID(i) for i in ids]
    async with tenant_transaction(account.tenant_id) as conn:
        columns = await conn.fetch(
            "select c.table_name as t, c.column_name as col,"
            " exists (select 1 from information_schema.columns k where k.table_name ="
            " c.table_name and k.table_schema = 'public' and k.column_name = 'kind') as kinded"
            " from information_schema.columns c where c.table_schema = 'public'"
            " and c.column_name in ('company_id', 'subject_id', 'record_id')"
            " and has_table_privilege("
            " quote_ident(c.table_schema) || '.' || quote_ident(c.table_name), 'select')"
            " order by 1, 2"
        )
        counts = {
            "companies": await conn.fetchval(
                "select count(*) from companies where id = any($1)", wanted
            )
        }
        for row in columns:
            table, column = row["t"], row["col"]
            where = f"{column} = any($1)"  # names from the catalogue
            if column == "subject_id":
                where += " and subject_type = 'company'"
            elif column == "record_id":
                if not row["kinded"]:
                    continue
                where += " and kind = 'company'"
            sql = f"select count(*) from {table} where {where}"
            counts[f"{table}.{column}"] = await conn.fetchval(sql, wanted)
    assert {"contacts.company_id", "deals.company_id", "invoices.company_id"} <= set(counts)
    assert {"notes.subject_id", "tasks.subject_id", "attachments.subject_id"} <= set(counts)
    assert {"activities.subject_id", "search_grams.record_id"} <= set(counts)
    return counts


async def _fill(client: Any, account: Account, company: str, tag: str) -> None:
    """A contact, a deal, a note and a task on the company."""
    await make_contact(client, f"{tag}first", "Person", company_id=company)
    await make_deal(account, f"{tag} deal", company_id=company)
    note = await client.post_form(f"/records/company/{company}/notes", {"body": f"{tag} note"})
    assert note.status_code in (200, 303)
    task = await client.post_form(f"/records/company/{company}/tasks", {"title": f"{tag} call"})
    assert task.status_code in (200, 303)


async def test_merge_moves_every_reference(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    keep = await make_company(client_a, "Pendant Publishing", domain="pendant.com")
    gone = created_id(
        await client_a.post_form(
            "/companies/new",
            {
                "name": "Pendant Publishing Inc",
                "domain": "pendant.co.uk",
                "industry": "Books",
                "address": "1 Park Ave",
                "create_anyway": "1",
            },
        ),
        "companies",
    )
    await _fill(client_a, tenant_a, keep, "Keep")
    await _fill(client_a, tenant_a, gone, "Gone")
    await make_invoice(client_a, gone, ("Ad", "1", "100", "0"))
    await attach(tenant_a, gone, "company")
    stranger = await make_company(client_b, "Pendant Publishing", domain="pendant.com")
    before = await _references(tenant_a, [keep, gone])
    before_gone = await _references(tenant_a, [gone])
    assert before_gone["invoices.company_id"] == 1 and before_gone["contacts.company_id"] == 1

    picker = await client_a.get(f"/companies/{keep}/merge")
    assert picker.status_code == 200 and "/search/pick/companies" in picker.text
    assert f'href="/companies/{keep}/merge"' in (await client_a.get(f"/companies/{keep}")).text
    page = await client_a.get(f"/companies/{keep}/merge?other={gone}")
    assert page.status_code == 200 and "Pendant Publishing Inc" in page.text
    # another workspace can neither see nor merge them; hostile input is refused
    assert (await client_b.get(f"/companies/{keep}/merge?other={gone}")).status_code == 404
    assert (await client_a.get(f"/companies/{keep}/merge?other={stranger}")).status_code == 404
    assert (await client_a.get(f"/companies/{keep}/merge?other=nope")).status_code == 422
    form = {"other_id": gone, "version": "1", "other_version": "1", "industry": "other"}
    assert (await client_b.post_form(f"/companies/{keep}/merge", form)).status_code == 404
    into_stranger = await client_a.post_form(
        f"/companies/{keep}/merge", {**form, "other_id": stranger}
    )
    assert into_stranger.status_code == 404
    for bad in (
        {"name": "mine"},
        {"name": "other\x00"},
        {"address": "o" * 100_000},
        {"other_id": keep},
        {"other_id": "x"},
        {"version": "z"},
        {"other_version": "\u2603"},
    ):
        refused = await client_a.post_form(f"/companies/{keep}/merge", {**form, **bad})
        assert refused.status_code == 422, (bad, refused.status_code)
    # stale: 409, the page again with the choices kept; nothing happened
    stale = await client_a.post_form(
        f"/companies/{keep}/merge", {**form, "other_version": "7", "address": "other"}
    )
    assert stale.status_code == 409
    assert 'name="address" value="other" checked' in stale.text
    assert await _references(tenant_a, [keep, gone]) == before

    merged = await client_a.post_form(f"/companies/{keep}/merge", {**form, "address": "other"})
    assert merged.status_code == 303, merged.text[:800]
    after = await _references(tenant_a, [keep, gone])
    after_gone = await _references(tenant_a, [gone])
    for table, rows in after.items():
        if table == "companies":
            assert rows == 1
        elif table == "activities.subject_id":  # the copies and the merge entry
            assert rows == before[table] + before_gone[table] + 1
        elif table == "record_versions.subject_id":  # a page's counter: the survivor's only
            assert rows == 1
        elif table != "search_grams.record_id":  # the survivor's text decides its grams
            assert rows == before[table], table
    for table, rows in after_gone.items():  # only the blanked originals stay
        assert rows == (before_gone[table] if table == "activities.subject_id" else 0), table
    detail = await client_a.get(f"/companies/{keep}")
    assert "Books" in detail.text and "1 Park Ave" in detail.text
    assert "Keepfirst" in detail.text and "Gonefirst" in detail.text
    assert "Keep note" in detail.text and "Gone note" in detail.text
    assert "merged Pendant Publishing Inc into this company" in detail.text
    assert (await client_a.get(f"/companies/{gone}")).status_code == 404
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        old = await conn.fetch("select summary from activities where subject_id = $1", UUID(gone))
        assert {r["summary"] for r in old} == {"merged into another company"}
    assert (await _references(tenant_b, [stranger]))["companies"] == 1  # untouched


async def test_members_merge_only_companies_they_own(
    app: Any, client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    theirs = await make_company(client_a, "Bluth Company", owner_id=str(tenant_a.user_id))
    async with browser_client(app) as client:
        await client.login(member.email, member.password)
        own = await make_company(client, "Sitwell", owner_id=str(member.user_id))
        twin = {"name": "Sitwell Ltd", "owner_id": str(member.user_id), "create_anyway": "1"}
        also = created_id(await client.post_form("/companies/new", twin), "companies")
        refused = await client.get(f"/companies/{own}/merge?other={theirs}")
        assert refused.status_code == 403 and "Only an admin" in refused.text
        form = {"other_id": theirs, "version": "1", "other_version": "1"}
        assert (await client.post_form(f"/companies/{own}/merge", form)).status_code == 403
        merged = await client.post_form(f"/companies/{own}/merge", {**form, "other_id": also})
        assert merged.status_code == 303, merged.text[:500]
    # the admin merges anyone's
    form = {"other_id": own, "version": "1", "other_version": "2"}
    assert (await client_a.post_form(f"/companies/{theirs}/merge", form)).status_code == 303


COMPANIES_CSV = (
    b"Name,Domain,Industry\n"
    b"Initech Ltd.,initech.com,Software\n"  # the known Initech, by name
    b"Initrode,www.hooli.com,Search\n"  # the known Hooli, by domain
    b"Chotchkie's,chotchkies.com,Food\n"
    b"CHOTCHKIES INC,,Restaurants\n"  # the same company twice in one file
)


async def _import(client: Any, on_duplicate: str | None) -> None:
    import_id = import_id_of(await upload(client, COMPANIES_CSV, kind="companies"))
    page = await client.get(f"/imports/{import_id}")
    assert "Update companies with the same domain or name" in page.text
    mapping = {"col_0": "name", "col_1": "domain", "col_2": "industry"}
    form = mapping if on_duplicate is None else {**mapping, "on_duplicate": on_duplicate}
    started = await client.post_form(f"/imports/{import_id}/run", form)
    assert started.status_code == 303, started.text[:500]
    await run_jobs()


async def test_import_updates_known_companies(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    initech = await make_company(client_a, "Initech")
    hooli = await make_company(client_a, "Hooli", domain="hooli.com")
    await make_company(client_b, "Initech")
    await _import(client_a, None)  # the default: update
    assert await count(tenant_a, "companies") == 3
    page = (await client_a.get(f"/companies/{initech}")).text
    assert "Initech Ltd." in page and "initech.com" in page and "Software" in page
    page = (await client_a.get(f"/companies/{hooli}")).text
    assert "Initrode" in page and "hooli.com" in page and "Search" in page
    assert "updated the company (CSV import)" in page
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        industry = await conn.fetchval(
            "select industry from companies where name_key = 'chotchkies'"
        )
    assert industry == "Restaurants"  # the later row of the same company, folded in
    await _import(client_a, "update")
    await _import(client_a, "skip")
    assert await count(tenant_a, "companies") == 3
    assert await count(tenant_b, "companies") == 1  # the other workspace's twin: untouched
    await _import(client_a, "create")
    assert await count(tenant_a, "companies") == 7  # "create" keeps every row
    import_id = import_id_of(await upload(client_a, COMPANIES_CSV, kind="companies"))
    for hostile in ("merge'; drop table x", "\x00", "u" * 100_000):
        refused = await client_a.post_form(
            f"/imports/{import_id}/run", {"col_0": "name", "on_duplicate": hostile}
        )
        assert refused.status_code == 422


async def _plan(conn: Any, sql: str, *args: object) -> str:
    return "\n".join(r[0] for r in await conn.fetch("explain " + sql, *args))


async def test_review_list_at_20k_companies_uses_the_key_indexes(
    owner_conn: Any, client_a: Any, tenant_a: Account
) -> None:
    """20,000 companies: 500 twins by name (a legal form added), 200 by domain ("www."); the
    app role's plan looks twins up through the key indexes; the page answers quickly."""
    tenant = tenant_a.tenant_id
    async with owner_conn.transaction():
        await owner_conn.execute("select set_config('app.tenant_id', $1, true)", str(tenant))
        await owner_conn.execute(
            "insert into companies (id, tenant_id, name, domain)"
            " select gen_random_uuid(), $1::uuid, 'Firm ' || g, 'firm' || g || '.com'"
            " from generate_series(1, 19300) as g"
            " union all select gen_random_uuid(), $1::uuid, 'Firm ' || g * 38 || ' GmbH', null"
            " from generate_series(1, 500) as g"
            " union all select gen_random_uuid(), $1::uuid, 'Other ' || g,"
            " 'www.firm' || g * 7 || '.com'"
            " from generate_series(1, 200) as g",
            tenant,
        )
    await owner_conn.execute("analyze companies")
    try:
        async with tenant_transaction(tenant) as conn:
            # the create warning's lookup: through both key indexes (equality is leakproof)
            lookup = await _plan(
                conn, company_duplicates.MATCHING, tenant, "Firm 900 Ltd", "firm9.com", 10
            )
            assert "companies_tenant_name_key" in lookup, lookup
            assert "companies_tenant_domain_key" in lookup, lookup
            # the pairs: the keys' equality is the join's condition, whichever join it is
            pairs = await _plan(conn, company_duplicates._PAIRS_PAGE, tenant, PAGE_SIZE, 0)
            assert re.search(r"(Hash|Merge|Index) Cond: .*name_key = ", pairs), pairs
            assert re.search(r"(Hash|Merge|Index) Cond: .*domain_key = ", pairs), pairs
        started = time.perf_counter()
        page = await client_a.get("/companies/duplicates?page=3")
        elapsed = time.perf_counter() - started
        assert page.status_code == 200 and "700 pairs" in page.text and "Page 3 of 14" in page.text
        print(f"companies/duplicates at 20k companies: {elapsed * 1000:.0f} ms")
        assert elapsed < 3.0  # about 0.7 s on the shared 2-core test machine (load 11)
    finally:  # as the workspace (RLS is forced: the owner's connection would delete nothing)
        async with tenant_transaction(tenant) as conn:
            await conn.execute("delete from companies")
