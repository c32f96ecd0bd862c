"""Custom fields through the REST API: the `custom` object on contacts and companies (read,
create, partial update, validated like the forms: 422 with a problem per field), the list of
fields per token scope, and two workspaces that never see each other's fields."""

from __future__ import annotations

from typing import Any

from app.core.forms import parse
from app.crm import custom_admin
from app.crm.schemas import CustomFieldForm
from tests.api.helpers import api_client, is_problem, token_for
from tests.deals.helpers import current_of
from tests.helpers import Account


async def define(account: Account, kind: str, label: str, field_type: str, **extra: str) -> str:
    form = parse(
        CustomFieldForm,
        {"object_kind": kind, "label": label, "field_type": field_type, **extra},
    )
    return (await custom_admin.add_field(await current_of(account), form)).key


async def test_custom_object_read_write_and_validated(
    app: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await define(tenant_a, "contact", "Tier", "select", options="Gold\nSilver", required="1")
    await define(tenant_a, "contact", "Budget", "money")
    await define(tenant_a, "contact", "Newsletter", "checkbox")
    await define(tenant_a, "contact", "Topics", "multi_select", options="Ai\nDb")
    await define(tenant_a, "company", "Seats", "number")
    await define(tenant_b, "contact", "Secret b", "text")
    async with api_client(app, await token_for(tenant_a)) as api:
        fields = (await api.get("/api/v1/custom-fields")).json()["data"]
        assert {f["key"] for f in fields} == {"tier", "budget", "newsletter", "topics", "seats"}
        tier = next(f for f in fields if f["key"] == "tier")
        assert tier["options"] == ["Gold", "Silver"] and tier["required"] is True
        # required, choices, money, unknown keys: a problem per field; the schema can't know a
        # workspace's own fields, so these refusals are conflicts with its data (409)
        missing = is_problem(await api.post("/api/v1/contacts", json={"first_name": "A"}), 409)
        assert {e["name"] for e in missing["errors"]} == {"custom.tier"}
        bad = await api.post(
            "/api/v1/contacts",
            json={
                "first_name": "A",
                "custom": {"tier": "Bronze", "budget": {"amount": "x", "currency": "EUR"}},
            },
        )
        names = {e["name"] for e in is_problem(bad, 409)["errors"]}
        assert names == {"custom.tier", "custom.budget"}
        other = await api.post(
            "/api/v1/contacts",
            json={"first_name": "A", "custom": {"tier": "Gold", "secret_b": "x"}},
        )
        assert "secret_b" in str(is_problem(other, 409))
        hostile = await api.post(
            "/api/v1/contacts", json={"first_name": "A", "custom": {"tier": "Gold\u0000"}}
        )
        is_problem(hostile, 422)
        wrong_type = await api.post(
            "/api/v1/contacts", json={"first_name": "A", "custom": {"tier": {"a": [1]}}}
        )
        is_problem(wrong_type, 422)
        made = await api.post(
            "/api/v1/contacts",
            json={
                "first_name": "Ada",
                "custom": {
                    "tier": "gold",
                    "budget": {"amount": 1200.5, "currency": "usd"},
                    "newsletter": True,
                    "topics": ["Db", "Ai"],
                },
            },
        )
        assert made.status_code == 201, made.text
        contact = made.json()
        assert contact["custom"] == {
            "tier": "Gold",
            "budget": {"amount": "1200.50", "currency": "USD"},
            "newsletter": True,
            "topics": ["Ai", "Db"],
        }
        # a partial update changes only what it sends
        changed = await api.patch(
            f"/api/v1/contacts/{contact['id']}",
            json={"custom": {"tier": "Silver", "topics": None}},
            headers={"If-Match": '"1"'},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["custom"] == {
            "tier": "Silver",
            "budget": {"amount": "1200.50", "currency": "USD"},
            "newsletter": True,
        }
        renamed = await api.patch(
            f"/api/v1/contacts/{contact['id']}", json={"title": "CTO"}, headers={"If-Match": '"2"'}
        )
        assert renamed.status_code == 200 and renamed.json()["custom"]["tier"] == "Silver"
        listed = (await api.get("/api/v1/contacts")).json()["data"]
        assert next(c for c in listed if c["id"] == contact["id"])["custom"]["tier"] == "Silver"
        company = await api.post(
            "/api/v1/companies", json={"name": "Acme", "custom": {"seats": 12}}
        )
        assert company.status_code == 201, company.text
        assert company.json()["custom"] == {"seats": "12"}
    # a token that reads only companies lists only their fields
    async with api_client(app, await token_for(tenant_a, ["companies:read"])) as api:
        fields = (await api.get("/api/v1/custom-fields")).json()["data"]
        assert [f["key"] for f in fields] == ["seats"]
    async with api_client(app, await token_for(tenant_b)) as api_b:
        fields = (await api_b.get("/api/v1/custom-fields")).json()["data"]
        assert [f["key"] for f in fields] == ["secret_b"]
        made = await api_b.post(
            "/api/v1/contacts", json={"first_name": "B", "custom": {"tier": "Gold"}}
        )
        is_problem(made, 409)  # no such field in this workspace: its data refuses it


async def test_deals_carry_custom_values(app: Any, tenant_a: Account) -> None:
    from tests.deals.helpers import stages

    await define(tenant_a, "deal", "Renewal", "date")
    stage = str((await stages(tenant_a))["Lead"].id)
    async with api_client(app, await token_for(tenant_a)) as api:
        body = {"title": "Api deal", "stage_id": stage, "amount": "5", "currency": "EUR"}
        bad = await api.post("/api/v1/deals", json={**body, "custom": {"renewal": "soon"}})
        assert is_problem(bad, 409)["errors"][0]["name"] == "custom.renewal"
        made = await api.post("/api/v1/deals", json={**body, "custom": {"renewal": "2027-03-01"}})
        assert made.status_code == 201, made.text
        deal = made.json()
        assert deal["custom"] == {"renewal": "2027-03-01"}
        moved = await api.patch(
            f"/api/v1/deals/{deal['id']}", json={"title": "Renamed"}, headers={"If-Match": '"1"'}
        )
        assert moved.status_code == 200 and moved.json()["custom"] == {"renewal": "2027-03-01"}
        cleared = await api.patch(
            f"/api/v1/deals/{deal['id']}",
            json={"custom": {"renewal": None}},
            headers={"If-Match": '"2"'},
        )
        assert cleared.status_code == 200 and cleared.json()["custom"] == {}
