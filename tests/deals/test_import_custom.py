"""Deal CSV import with custom fields: the workspace's deal fields are mapping targets (guessed
from the column name, another workspace's never offered), each row's values checked by the
custom-value validator (a bad value or a missing required field is a row error naming it), the
good rows' values stored on the deals."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import msgspec

from app.core.db import tenant_transaction
from tests.crm.test_custom_fields import add_field
from tests.crm.test_custom_fields_io import run_import
from tests.helpers import Account


async def deal_values(account: Account) -> dict[str, dict[str, Any]]:
    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch("select title, custom_values::text as cv from deals")
    return {r["title"]: msgspec.json.decode(r["cv"]) for r in rows}


async def errors(client: Any, import_id: str) -> dict[int, str]:
    text = (await client.get(f"/imports/{import_id}/errors.csv")).text
    return {int(r[0]): r[1] for r in list(csv.reader(io.StringIO(text)))[1:]}


async def test_deal_import_maps_checks_and_stores_custom_fields(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    source = await add_field(
        client_a, tenant_a, "deal", "Source", "select", options="Web\nEvent", required="1"
    )
    budget = await add_field(client_a, tenant_a, "deal", "Budget", "money")
    await add_field(client_b, tenant_b, "deal", "Hidden", "text")
    content = (
        "Title,Source,Budget,Hidden\n"
        "Ci1,web,12.5 EUR,x\n"
        "Ci2,Fair,,\n"
        "Ci3,,,\n"
        "Ci4,Event,ten,\n"
        "Ci5,Event,1 EUR\x07,\n"
        "Ci6,Événement,,\n"
    ).encode()
    import_id, page = await run_import(client_a, content, kind="deals")
    assert re.search(r'name="col_1".*?<option value="custom.source" selected', page, re.S)
    assert re.search(r'name="col_2".*?<option value="custom.budget" selected', page, re.S)
    assert 'value="custom.hidden"' not in page
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {2, 3, 4, 5, 6}, reasons
    assert "not a choice of Source" in reasons[6]
    assert "not a choice of Source" in reasons[2]
    assert "Source: it is required" in reasons[3]
    assert "Budget" in reasons[4]
    stored = await deal_values(tenant_a)
    assert stored["Ci1"] == {
        str(source["id"]): "Web",
        str(budget["id"]): {"amount": "12.50", "currency": "EUR"},
    }
    assert set(stored) & {"Ci2", "Ci3", "Ci4", "Ci5", "Ci6"} == set()
    assert "Ci1" not in await deal_values(tenant_b)


async def test_a_required_deal_field_left_unmapped_fails_every_row_naming_it(
    client_a: Any, tenant_a: Account
) -> None:
    await add_field(client_a, tenant_a, "deal", "Segment", "text", required="1")
    import_id, _page = await run_import(client_a, b"Title\nCu1\nCu2\n", kind="deals")
    reasons = await errors(client_a, import_id)
    assert set(reasons) == {1, 2} and all("Segment: it is required" in r for r in reasons.values())
    assert not {"Cu1", "Cu2"} & set(await deal_values(tenant_a))
