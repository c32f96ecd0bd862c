"""The REST API: bearer tokens (scopes, expiry, revocation, the creator's current role, rate
limits), records through the UI's services across two workspaces, versions, problem details."""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts import team
from app.api import tokens
from app.core.db import tenant_transaction
from app.core.forms import parse
from app.crm import contacts
from app.crm.schemas import ContactForm
from tests.api.helpers import READ_ONLY, api_client, is_problem, token_for
from tests.deals.helpers import add_colleague, current_of, make_deal, stages
from tests.helpers import Account, Mailbox


async def _b_contact(tenant_b: Account) -> uuid.UUID:
    form = parse(ContactForm, {"first_name": "Bea", "last_name": "Other"})
    return await contacts.create_contact(await current_of(tenant_b), form)


async def test_contacts_crud_versions_and_another_workspaces_ids(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    b_id = await _b_contact(tenant_b)
    async with api_client(app, await token_for(tenant_a)) as api:
        made = await api.post(
            "/api/v1/contacts",
            json={"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@example.com"]},
        )
        assert made.status_code == 201, made.text
        contact = made.json()
        assert contact["emails"] == ["ada@example.com"] and contact["version"] == 1
        cid = contact["id"]
        got = await api.get(f"/api/v1/contacts/{cid}")
        assert got.status_code == 200 and got.headers["etag"] == '"1"'
        listed = (await api.get("/api/v1/contacts", params={"q": "lovel"})).json()
        assert [c["id"] for c in listed["data"]] == [cid]
        everything = (await api.get("/api/v1/contacts", params={"limit": 100})).json()
        assert str(b_id) not in {c["id"] for c in everything["data"]}
        changed = await api.patch(
            f"/api/v1/contacts/{cid}", json={"title": "Analyst"}, headers={"If-Match": '"1"'}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["title"] == "Analyst" and changed.json()["last_name"] == "Lovelace"
        assert changed.json()["version"] == 2
        stale = await api.patch(f"/api/v1/contacts/{cid}", json={"title": "Old", "version": 1})
        assert is_problem(stale, 409)["version"] == 2
        missing = await api.patch(f"/api/v1/contacts/{cid}", json={"title": "No version"})
        assert is_problem(missing, 422)["errors"][0]["name"] == "version"
        # the other workspace's record is not there, whatever the method
        is_problem(await api.get(f"/api/v1/contacts/{b_id}"), 404)
        is_problem(await api.patch(f"/api/v1/contacts/{b_id}", json={"version": 1}), 404)
        is_problem(await api.delete(f"/api/v1/contacts/{b_id}", params={"version": 1}), 404)
        gone = await api.delete(f"/api/v1/contacts/{cid}", headers={"If-Match": '"2"'})
        assert gone.status_code == 204
        is_problem(await api.get(f"/api/v1/contacts/{cid}"), 404)
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # writes audited, refusals not
        audited = await conn.fetch(
            "select details->>'method' as m from audit_log where action = 'api.write' order by seq"
        )
    assert [r["m"] for r in audited] == ["POST", "PATCH", "DELETE"]
    # B's contact is untouched
    async with api_client(app, await token_for(tenant_b)) as api_b:
        assert (await api_b.get(f"/api/v1/contacts/{b_id}")).json()["first_name"] == "Bea"


async def test_validation_and_malformed_input_are_problem_details(
    app: Any, tenant_a: Account
) -> None:
    async with api_client(app, await token_for(tenant_a)) as api:
        # one of the names is required by the schema (anyOf): 422
        no_name = is_problem(await api.post("/api/v1/contacts", json={"title": "x"}), 422)
        assert no_name["errors"] == [
            {"name": "first_name", "detail": "Fill in first_name or last_name."}
        ]
        bad_email = await api.post(
            "/api/v1/contacts", json={"first_name": "A", "emails": ["not-an-address"]}
        )
        assert is_problem(bad_email, 422)["errors"][0]["name"] == "emails"
        wrong_type = await api.post("/api/v1/contacts", json={"first_name": 5})
        is_problem(wrong_type, 422)
        not_json = await api.post(
            "/api/v1/contacts", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code in (400, 422)
        assert not_json.headers["content-type"].startswith("application/problem+json")
        is_problem(await api.get("/api/v1/contacts", params={"limit": 0}), 422)
        is_problem(await api.get("/api/v1/contacts", params={"sort": "nope"}), 422)
        is_problem(await api.get("/api/v1/nothing-here"), 404)
        is_problem(await api.put("/api/v1/contacts"), 405)
        is_problem(await api.get("/api/v1/contacts/not-a-uuid"), 404)


async def test_cookies_never_authenticate_and_bad_tokens_are_401(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    signed_in = await client_a.get("/api/v1/contacts")
    assert "www-authenticate" in signed_in.headers
    is_problem(signed_in, 401)
    posted = await client_a.post(
        "/api/v1/contacts", json={"first_name": "X"}, headers={"X-CSRF-Token": client_a.csrf}
    )
    is_problem(posted, 401)
    assert "set-cookie" not in signed_in.headers
    raw = await token_for(tenant_a)
    forged = raw.replace(tenant_a.tenant_id.hex, tenant_b.tenant_id.hex)  # A's secret, B's id
    for token in (None, "odx_nonsense", "odx_" + "0" * 32 + "_x", forged, raw + "x"):
        async with api_client(app, token) as api:
            is_problem(await api.get("/api/v1/contacts"), 401)
    async with api_client(app, raw) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200


async def test_expired_and_revoked_tokens_stop_at_once(app: Any, tenant_a: Account) -> None:
    expiring, revoked = await token_for(tenant_a), await token_for(tenant_a)
    async with api_client(app, expiring) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            await conn.execute(
                "update api_tokens set expires_at = now() - interval '1 second'"
                " where token_hash = $1",
                tokens.token_hash(expiring),
            )
        assert "expired" in is_problem(await api.get("/api/v1/contacts"), 401)["detail"]
    current = await current_of(tenant_a)
    listed = {t.hint: t for t in await tokens.list_tokens(current)}
    assert listed[expiring[-4:]].last_used_at is not None  # the use was recorded
    async with api_client(app, revoked) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200
        await tokens.revoke_token(current, listed[revoked[-4:]].id)
        assert "revoked" in is_problem(await api.get("/api/v1/contacts"), 401)["detail"]
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        actions = await conn.fetch(
            "select action from audit_log where action like 'api_token.%' order by seq"
        )
    assert [r["action"] for r in actions][-3:] == [
        "api_token.created",
        "api_token.created",
        "api_token.revoked",
    ]


async def test_scopes_limit_what_a_token_reaches(app: Any, tenant_a: Account) -> None:
    async with api_client(app, await token_for(tenant_a, READ_ONLY)) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200
        refused = is_problem(await api.post("/api/v1/contacts", json={"first_name": "N"}), 403)
        assert "contacts:write" in refused["detail"]
        is_problem(await api.post("/api/v1/notes", json={}), 403)
    async with api_client(app, await token_for(tenant_a, ["contacts:write"])) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200  # write includes read
        is_problem(await api.get("/api/v1/invoices"), 403)
        is_problem(await api.get("/api/v1/deals"), 403)


async def test_a_token_follows_its_creators_current_role(
    app: Any, tenant_a: Account, tenant_b: Account, mailbox: Mailbox
) -> None:
    admin = await add_colleague(tenant_a, mailbox, "admin")
    raw = await token_for(admin)
    async with api_client(app, await token_for(tenant_a)) as owner_api:
        company = (await owner_api.post("/api/v1/companies", json={"name": "Acme"})).json()
        notes = []
        for body in ("first", "second"):
            made = await owner_api.post(
                "/api/v1/notes",
                json={"subject_type": "company", "subject_id": company["id"], "body": body},
            )
            assert made.status_code == 201, made.text
            notes.append(made.json()["id"])
    async with api_client(app, raw) as api:
        assert (await api.delete(f"/api/v1/notes/{notes[0]}")).status_code == 204  # as admin
        members = await team.list_members(await current_of(tenant_a))
        membership = next(m.membership_id for m in members if m.user_id == admin.user_id)
        await team.change_role(await current_of(tenant_a), membership, "member")
        refused = is_problem(await api.delete(f"/api/v1/notes/{notes[1]}"), 403)
        assert "author or an admin" in refused["detail"]
        await team.remove_member(await current_of(tenant_a), membership)
        is_problem(await api.get("/api/v1/contacts"), 401)


async def test_rate_limit_answers_429_with_retry_after(app: Any, tenant_a: Account) -> None:
    async with api_client(app, await token_for(tenant_a, rate=3)) as api:
        for _ in range(3):
            assert (await api.get("/api/v1/pipelines")).status_code == 200
        limited = await api.get("/api/v1/pipelines")
        is_problem(limited, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 60
    async with api_client(app, await token_for(tenant_a)) as other:  # per token
        assert (await other.get("/api/v1/pipelines")).status_code == 200


async def test_deals_move_and_pipelines(app: Any, tenant_a: Account, tenant_b: Account) -> None:
    b_deal = await make_deal(tenant_b, "B's deal")
    s = await stages(tenant_a)
    async with api_client(app, await token_for(tenant_a)) as api:
        pipelines = (await api.get("/api/v1/pipelines")).json()["data"]
        assert pipelines[0]["stages"][0]["name"] == "Lead"
        one = await api.get(f"/api/v1/pipelines/{pipelines[0]['id']}")
        assert one.status_code == 200
        first = (
            await api.post(
                "/api/v1/deals",
                json={"title": "First", "stage_id": str(s["Won"].id), "amount": "10.50"},
            )
        ).json()
        made = await api.post(
            "/api/v1/deals", json={"title": "API deal", "stage_id": str(s["Lead"].id)}
        )
        assert made.status_code == 201, made.text
        deal = made.json()
        moved = await api.post(
            f"/api/v1/deals/{deal['id']}/move",
            json={"stage_id": str(s["Won"].id), "position": 0, "version": deal["version"]},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage_id"] == str(s["Won"].id)
        won = (await api.get("/api/v1/deals", params={"q": "", "limit": 100})).json()["data"]
        in_won = sorted(
            (d for d in won if d["stage_id"] == str(s["Won"].id)), key=lambda d: d["position"]
        )
        assert [d["title"] for d in in_won] == ["API deal", "First"]
        stale = await api.post(
            f"/api/v1/deals/{deal['id']}/move",
            json={"stage_id": str(s["Lead"].id), "version": deal["version"]},
        )
        is_problem(stale, 409)
        lost = await api.post(
            f"/api/v1/deals/{first['id']}/move",
            json={"stage_id": str(s["Lost"].id), "version": first["version"]},
        )
        # schema-valid, refused by the stage it goes to: 409
        assert is_problem(lost, 409)["errors"][0]["name"] == "stage_id"
        is_problem(
            await api.post(
                f"/api/v1/deals/{b_deal}/move", json={"stage_id": str(s["Won"].id), "version": 1}
            ),
            404,
        )
        is_problem(await api.get(f"/api/v1/deals/{b_deal}"), 404)
        b_stage = (await stages(tenant_b))["Won"].id
        cross = await api.post("/api/v1/deals", json={"title": "Sneaky", "stage_id": str(b_stage)})
        assert is_problem(cross, 409)["errors"][0]["name"] == "stage_id"  # not in A
        edited = await api.patch(f"/api/v1/deals/{deal['id']}", json={"amount": "99", "version": 2})
        assert edited.status_code == 200 and edited.json()["amount"] == "99.00", edited.text


async def test_notes_tasks_and_invoices(app: Any, tenant_a: Account, tenant_b: Account) -> None:
    async with api_client(app, await token_for(tenant_a)) as api:
        company = (await api.post("/api/v1/companies", json={"name": "Globex"})).json()
        note = await api.post(
            "/api/v1/notes",
            json={"subject_type": "company", "subject_id": company["id"], "body": "Hello"},
        )
        assert note.status_code == 201 and note.json()["body"] == "Hello"
        read = await api.get(f"/api/v1/notes/{note.json()['id']}")  # notes have no version
        assert read.status_code == 200 and read.json() == note.json()
        assert "etag" not in read.headers
        bad_subject = await api.post(
            "/api/v1/notes",
            json={"subject_type": "planet", "subject_id": company["id"], "body": "x"},
        )
        is_problem(bad_subject, 422)
        task = await api.post(
            "/api/v1/tasks",
            json={
                "subject_type": "company",
                "subject_id": company["id"],
                "kind": "call",
                "title": "Call them",
                "due_at": "2030-01-02T10:00:00Z",
            },
        )
        assert task.status_code == 201, task.text
        assert task.json()["due_at"].startswith("2030-01-02T10:00")
        done = await api.patch(
            f"/api/v1/tasks/{task.json()['id']}", json={"done": True, "version": 1}
        )
        assert done.status_code == 200 and done.json()["done"] is True, done.text
        assert done.json()["due_at"].startswith("2030-01-02T10:00")  # kept as it was
        invoice = await api.post(
            "/api/v1/invoices",
            json={
                "company_id": company["id"],
                "due_date": "2030-02-01",
                "lines": [{"description": "Work", "unit_price": "100", "quantity": "2"}],
            },
        )
        assert invoice.status_code == 201, invoice.text
        assert invoice.json()["total"] == "200.00" and invoice.json()["number"].startswith("INV-")
        got = await api.get(f"/api/v1/invoices/{invoice.json()['id']}")
        assert got.json()["lines"][0]["description"] == "Work"
        no_lines = await api.post(
            "/api/v1/invoices", json={"company_id": company["id"], "due_date": "2030-02-01"}
        )
        assert is_problem(no_lines, 422)["errors"][0]["name"] == "lines"
        listed = await api.get("/api/v1/invoices")
        assert [i["id"] for i in listed.json()["data"]] == [invoice.json()["id"]]
    async with api_client(app, await token_for(tenant_b)) as api_b:
        is_problem(await api_b.get(f"/api/v1/invoices/{invoice.json()['id']}"), 404)
        is_problem(await api_b.get(f"/api/v1/notes/{note.json()['id']}"), 404)
        is_problem(await api_b.get(f"/api/v1/tasks/{task.json()['id']}"), 404)
        assert (await api_b.get("/api/v1/tasks")).json()["data"] == []


async def test_list_filters_sort_and_cursor(app: Any, tenant_a: Account) -> None:
    async with api_client(app, await token_for(tenant_a)) as api:
        ids = []
        for n in range(5):
            made = await api.post("/api/v1/companies", json={"name": f"Paged {n}"})
            ids.append(made.json()["id"])
        seen: list[str] = []
        cursor = ""
        while True:
            page = (
                await api.get(
                    "/api/v1/companies",
                    params={"limit": 2, "sort": "created_at", "cursor": cursor, "q": "paged"},
                )
            ).json()
            seen += [c["id"] for c in page["data"]]
            if not page["next_cursor"]:
                break
            cursor = page["next_cursor"]
        assert seen == ids
        owner = str(tenant_a.user_id)
        await api.patch(f"/api/v1/companies/{ids[0]}", json={"owner_id": owner, "version": 1})
        mine = (await api.get("/api/v1/companies", params={"owner": owner})).json()["data"]
        assert [c["id"] for c in mine] == [ids[0]]
        later = await api.get("/api/v1/companies", params={"updated_since": "2999-01-01T00:00:00Z"})
        assert later.json()["data"] == []


async def test_openapi_and_offline_docs(app: Any, client: Any) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert schema["paths"] and all(p.startswith("/api/v1/") for p in schema["paths"])
    assert "/api/v1/deals/{deal_id}/move" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "/api/v1/contacts" in docs.text
    assert "http://" not in docs.text and "https://" not in docs.text  # nothing from a CDN
    assert 'id="problem-validation"' in docs.text


async def test_settings_page_creates_shows_once_lists_and_revokes(
    app: Any, client_a: Any, tenant_a: Account
) -> None:
    page = await client_a.get("/settings/api-tokens")
    assert page.status_code == 200 and "New token" in page.text
    refused = await client_a.post_form("/settings/api-tokens", {"name": "Empty"}, htmx=True)
    assert refused.status_code == 422 and "Choose at least one scope." in refused.text
    assert 'role="alert"' in refused.text.split("Choose at least one scope.")[0][-200:]
    # a value the expiry list doesn't offer (the hostile-input sweep found it said nothing)
    bad_days = {"name": "x", "scopes": "contacts:read", "days": "<"}
    refused = await client_a.post_form("/settings/api-tokens", bad_days, htmx=True)
    assert refused.status_code == 422 and 'id="days-error"' in refused.text
    created = await client_a.post_form(
        "/settings/api-tokens",
        {"name": "Zapier", "scopes": "contacts:read", "days": "7"},
        htmx=True,
    )
    assert created.status_code == 200 and 'id="new-token-value"' in created.text
    raw = created.text.split('id="new-token-value">')[1].split("<")[0]
    assert raw.startswith("odx_")
    assert raw not in (await client_a.get("/settings/api-tokens")).text  # shown once
    async with api_client(app, raw) as api:
        assert (await api.get("/api/v1/contacts")).status_code == 200
        is_problem(await api.get("/api/v1/deals"), 403)
        listed = await tokens.list_tokens(await current_of(tenant_a))
        token_id = next(t.id for t in listed if t.hint == raw[-4:])
        revoked = await client_a.post_form(f"/settings/api-tokens/{token_id}/revoke", htmx=True)
        assert revoked.status_code == 200 and "Revoked" in revoked.text
        is_problem(await api.get("/api/v1/contacts"), 401)


async def _draft(api: Any, company: str, description: str, price: str) -> dict[str, Any]:
    """A new company and a draft invoice for it with one line, through the API."""
    made = (await api.post("/api/v1/companies", json={"name": company})).json()
    line = {"description": description, "unit_price": price}
    body = {"company_id": made["id"], "due_date": "2030-02-01", "lines": [line]}
    invoice = await api.post("/api/v1/invoices", json=body)
    assert invoice.status_code == 201, invoice.text
    return {**invoice.json(), "company": made}


async def test_invoice_drafts_edit_and_change_status(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    async with api_client(app, await token_for(tenant_b)) as api_b:
        b_invoice = await _draft(api_b, "Initech", "B work", "10")
        b_company, b_id = b_invoice["company"], b_invoice["id"]
    async with api_client(app, await token_for(tenant_a)) as api:
        company = (await api.post("/api/v1/companies", json={"name": "Globex"})).json()
        made = await api.post(
            "/api/v1/invoices",
            json={
                "company_id": company["id"],
                "due_date": "2030-02-01",
                "notes": "Net 30",
                "lines": [{"description": "Work", "unit_price": "100", "quantity": "2"}],
            },
        )
        invoice = made.json()
        iid, base = invoice["id"], f"/api/v1/invoices/{invoice['id']}"
        # partial: the notes change, the lines and dates stay
        noted = await api.patch(base, json={"notes": "Net 14"}, headers={"If-Match": '"1"'})
        assert noted.status_code == 200, noted.text
        assert noted.json()["notes"] == "Net 14" and noted.json()["version"] == 2
        assert noted.json()["lines"] == invoice["lines"] and noted.json()["total"] == "200.00"
        assert noted.json()["due_date"] == "2030-02-01"
        # lines sent replace the lines it had (the totals follow)
        relined = await api.patch(
            base,
            json={
                "version": 2,
                "lines": [
                    {"description": "Design", "unit_price": "50", "tax_rate": "20"},
                    {"description": "Build", "unit_price": "100", "quantity": "3"},
                ],
            },
        )
        assert relined.status_code == 200, relined.text
        assert [ln["description"] for ln in relined.json()["lines"]] == ["Design", "Build"]
        assert relined.json()["total"] == "360.00" and relined.json()["notes"] == "Net 14"
        stale = await api.patch(base, json={"notes": "Old", "version": 2})
        assert is_problem(stale, 409)["version"] == 3
        # a rule across fields of the record as it is (before its issue date): 409
        bad = await api.patch(base, json={"due_date": "2000-01-01", "version": 3})
        assert is_problem(bad, 409)["errors"][0]["name"] == "due_date"
        no_lines = await api.patch(base, json={"lines": [], "version": 3})
        assert is_problem(no_lines, 422)["errors"][0]["name"] == "lines"
        foreign = await api.patch(base, json={"company_id": b_company["id"], "version": 3})
        assert is_problem(foreign, 409)["errors"][0]["name"] == "company_id"
        # status changes: the page's transitions, at the version read
        status = f"{base}/status"
        stale_status = await api.post(status, json={"status": "sent", "version": 2})
        assert is_problem(stale_status, 409)["version"] == 3
        wrong = await api.post(status, json={"status": "paid", "version": 3})  # a draft
        assert is_problem(wrong, 409)["errors"][0]["name"] == "status"
        unknown = await api.post(status, json={"status": "lost", "version": 3})
        assert is_problem(unknown, 422)["errors"][0]["name"] == "status"
        sent = await api.post(status, json={"status": "sent"}, headers={"If-Match": '"3"'})
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "sent" and sent.json()["version"] == 4
        # a sent invoice is a legal document: no more edits (void and reissue)
        locked = await api.patch(base, json={"notes": "Later", "version": 4})
        assert is_problem(locked, 409)["detail"].startswith("Only drafts can be edited.")
        paid = await api.post(status, json={"status": "paid", "version": 4})
        assert paid.status_code == 200 and paid.json()["status"] == "paid"
        # there is no delete, in the API as in the pages
        assert (await api.delete(base, params={"version": 5})).status_code == 405
        # the other workspace's invoice is not there, whatever the method
        is_problem(await api.patch(f"/api/v1/invoices/{b_id}", json={"version": 1}), 404)
        b_status = {"status": "void", "version": 1}
        is_problem(await api.post(f"/api/v1/invoices/{b_id}/status", json=b_status), 404)
    async with tenant_transaction(tenant_a.tenant_id) as conn:  # the UI's timeline entries
        timeline = await conn.fetch(
            "select action, summary from activities where subject_id = $1 order by created_at",
            uuid.UUID(iid),
        )
        audited = await conn.fetchval(
            "select count(*) from audit_log where action = 'api.write' and details->>'path' = $1",
            base,
        )
    assert [r["action"] for r in timeline] == ["created", "updated", "updated", "status", "status"]
    assert timeline[-1]["summary"].endswith("as paid")
    assert audited == 2  # the two edits that went through (the status posts have their path)
    async with api_client(app, await token_for(tenant_b)) as api_b:  # B's draft is untouched
        untouched = (await api_b.get(f"/api/v1/invoices/{b_id}")).json()
        assert untouched["status"] == "draft" and untouched["version"] == 1


async def test_hostile_invoice_edits_and_status_changes_are_problems_not_errors(
    app: Any, tenant_a: Account
) -> None:
    """Malformed bodies against a real draft (the contract test's ids are made up, so it
    never reaches one): each a 4xx problem, and the draft unchanged."""
    async with api_client(app, await token_for(tenant_a)) as api:
        base = f"/api/v1/invoices/{(await _draft(api, 'Hooli', 'Work', '100'))['id']}"
        line = {"description": "x", "unit_price": "1"}
        edits: list[Any] = [
            {"version": 1, "lines": [{**line, "unit_price": "1e400"}]},
            {"version": 1, "lines": [{**line, "unit_price": "NaN"}]},
            {"version": 1, "lines": [{**line, "quantity": "-1"}]},
            {"version": 1, "lines": [{**line, "tax_rate": "101"}]},
            {"version": 1, "lines": [{**line, "colour": "red"}]},
            {"version": 1, "lines": [line] * 101},
            {"version": 1, "lines": [{**line, "unit_price": "99999999", "quantity": "999999"}]},
            {"version": 1, "lines": None},
            {"version": 1, "company_id": None},
            {"version": 1, "deal_id": "not-a-uuid"},
            {"version": 1, "deal_id": str(uuid.uuid4())},
            {"version": 1, "currency": "XXX"},
            {"version": 1, "notes": "\x00"},
            {"version": 1, "issue_date": "2026-13-45"},
            {"version": 0},
            {"version": 2**40},
            {"version": True},
            {"version": 1, "status": "paid"},
            [],
        ]
        for body in edits:
            refused = await api.patch(base, json=body)
            assert 400 <= refused.status_code < 500, (body, refused.text[:300])
            is_problem(refused, refused.status_code)
        odd = await api.patch(base, json={"notes": "x"}, headers={"If-Match": '"abc"'})
        is_problem(odd, 422)
        for change in (
            {"status": "draft", "version": 1},
            {"status": "overdue", "version": 1},
            {"status": "", "version": 1},
            {"status": "x" * 10_000, "version": 1},
            {"status": None, "version": 1},
            {"status": "sent", "version": -1},
            {"status": "sent"},
            {},
        ):
            refused = await api.post(f"{base}/status", json=change)
            assert 400 <= refused.status_code < 500, (change, refused.text[:300])
            is_problem(refused, refused.status_code)
        after = (await api.get(base)).json()
    assert after["version"] == 1 and after["status"] == "draft" and after["total"] == "100.00"
