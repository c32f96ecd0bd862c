"""Required custom fields can't be left out by the REST API or the CSV import: creating a
contact, company or deal without one is refused naming it (API: 409, as the workspace's own
fields are its data; CSV: a row error), and so is clearing one; companies an import would create
for rows naming a new one are refused too while companies have a required field (a row error
saying so)."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.core.db import tenant_transaction
from tests.api.helpers import api_client, is_problem, token_for
from tests.api.test_custom_fields_api import define
from tests.crm.test_custom_fields_io import run_import
from tests.deals.helpers import stages
from tests.helpers import Account


async def errors(client: Any, import_id: str) -> dict[int, str]:
    text = (await client.get(f"/imports/{import_id}/errors.csv")).text
    return {int(r[0]): r[1] for r in list(csv.reader(io.StringIO(text)))[1:]}


async def names_in(account: Account, table: str, column: str) -> set[str]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch(f"select {column} as n from {table}")
    return {r["n"] for r in rows}


async def test_the_api_refuses_records_without_a_required_field(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await define(tenant_a, "company", "Sector", "text", required="1")
    await define(tenant_a, "deal", "Channel", "select", options="Web\nEvent", required="1")
    stage = str((await stages(tenant_a))["Lead"].id)
    deal = {"title": "Rq deal", "stage_id": stage, "amount": "5", "currency": "EUR"}
    async with api_client(app, await token_for(tenant_a)) as api:
        company = is_problem(await api.post("/api/v1/companies", json={"name": "RqCo"}), 409)
        assert {e["name"] for e in company["errors"]} == {"custom.sector"}
        assert "Sector" in str(company)
        made = await api.post("/api/v1/companies", json={"name": "RqCo", "custom": {"sector": "x"}})
        assert made.status_code == 201, made.text
        # clearing it is refused as well
        cleared = await api.patch(
            f"/api/v1/companies/{made.json()['id']}",
            json={"custom": {"sector": None}},
            headers={"If-Match": '"1"'},
        )
        assert {e["name"] for e in is_problem(cleared, 409)["errors"]} == {"custom.sector"}
        empty = await api.post(
            "/api/v1/companies", json={"name": "RqCo2", "custom": {"sector": ""}}
        )
        is_problem(empty, 409)
        missing = is_problem(await api.post("/api/v1/deals", json=deal), 409)
        assert {e["name"] for e in missing["errors"]} == {"custom.channel"}
        ok = await api.post("/api/v1/deals", json={**deal, "custom": {"channel": "web"}})
        assert ok.status_code == 201, ok.text
    # the other workspace has no such field: its records need none
    async with api_client(app, await token_for(tenant_b)) as api_b:
        other = await api_b.post("/api/v1/companies", json={"name": "RqCoB"})
        assert other.status_code == 201, other.text


async def test_the_csv_import_refuses_rows_without_a_required_field(
    client_a: Any, tenant_a: Account
) -> None:
    await define(tenant_a, "contact", "Persona", "text", required="1")
    await define(tenant_a, "company", "Sector", "text", required="1")
    import_id, _page = await run_import(
        client_a, b"First name,Persona\nRqA,Buyer\nRqB,\n", kind="contacts"
    )
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {2}, reasons
    assert "Persona: it is required" in reasons[2]
    assert "RqA" in await names_in(tenant_a, "contacts", "first_name")
    assert "RqB" not in await names_in(tenant_a, "contacts", "first_name")
    # unmapped: every row is refused, naming the field
    import_id, _page = await run_import(client_a, b"Name\nRqCoA\nRqCoB\n", kind="companies")
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {1, 2} and all("Sector: it is required" in r for r in reasons.values())
    assert not {"RqCoA", "RqCoB"} & await names_in(tenant_a, "companies", "name")
    # a row naming a new company would create it without its required field: refused
    import_id, _page = await run_import(
        client_a, b"First name,Persona,Company\nRqC,Buyer,RqNewCo\n", kind="contacts"
    )
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {1} and "Sector" in reasons[1], reasons
    assert "RqNewCo" not in await names_in(tenant_a, "companies", "name")
    import_id, _page = await run_import(client_a, b"Title,Company\nRqDeal,RqNewCo2\n", kind="deals")
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {1} and "Sector" in reasons[1], reasons
    assert "RqNewCo2" not in await names_in(tenant_a, "companies", "name")
