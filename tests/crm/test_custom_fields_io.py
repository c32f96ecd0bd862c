"""Custom fields through CSV import and export: mapping targets (guessed from a column named
like the field), per-row validation into the error report, the export's columns named by
label, and export → import round-tripping every type; another workspace's fields never map."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from tests.crm.test_custom_fields import add_field, custom_values
from tests.crm.test_import import import_id_of, upload
from tests.helpers import Account, run_jobs
from tests.privacy.test_export import download_export, rows_of


async def contact_ids(account: Account, first_name: str) -> list[str]:
    from app.core.db import tenant_transaction

    async with tenant_transaction(account.tenant_id) as conn:
        rows = await conn.fetch("select id from contacts where first_name = $1", first_name)
    return [str(r["id"]) for r in rows]


async def run_import(client: Any, content: bytes, kind: str = "contacts") -> tuple[str, str]:
    """Upload, keep the guessed mapping, run; (import id, mapping page)."""
    import_id = import_id_of(await upload(client, content, kind))
    page = (await client.get(f"/imports/{import_id}")).text
    mapping = {}
    for select in re.findall(r'<select[^>]*name="col_\d+".*?</select>', page, re.S):
        name = re.search(r'name="(col_\d+)"', select)
        chosen = re.search(r'<option value="([^"]*)" selected', select)
        if name and chosen:
            mapping[name[1]] = chosen[1]
    started = await client.post_form(f"/imports/{import_id}/run", mapping)
    assert started.status_code == 303, started.text[:2000]
    await run_jobs()
    return import_id, page


async def test_import_maps_validates_and_round_trips_through_the_export(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    fields = {
        "Tier": await add_field(
            client_a, tenant_a, "contact", "Tier", "select", options="Gold\nSilver"
        ),
        "Budget": await add_field(client_a, tenant_a, "contact", "Budget", "money"),
        "Topics": await add_field(
            client_a, tenant_a, "contact", "Topics", "multi_select", options="Ai\nDb"
        ),
        "Vip": await add_field(client_a, tenant_a, "contact", "Vip", "checkbox"),
        "Since": await add_field(client_a, tenant_a, "contact", "Since", "date"),
        "Site": await add_field(client_a, tenant_a, "contact", "Site", "url"),
        "Manager": await add_field(client_a, tenant_a, "contact", "Manager", "user"),
        "Score": await add_field(client_a, tenant_a, "contact", "Score", "number"),
    }
    await add_field(client_b, tenant_b, "contact", "Secret", "text")
    content = (
        "First name,Tier,Budget,Topics,Vip,Since,Site,Manager,Score,Secret\n"
        f"Rt1,gold,12.5 EUR,Db; Ai,yes,2027-01-02,https://a.example,{tenant_a.email},-3.25,x\n"
        "Rt2,Platinum,,,,,,,,\n"
        "Rt3,,,,,2027-13-01,,,,\n"
        f"Rt4,,,,,,javascript:alert(1),{tenant_b.email},,\n"
        "Rt5,Silver,,,no,,,,,\n"
    ).encode()
    import_id, page = await run_import(client_a, content)
    # the fields are targets, guessed from the column names; B's field is no target here
    assert re.search(r'name="col_1".*?<option value="custom.tier" selected', page, re.S)
    assert 'value="custom.secret"' not in page
    report = list(
        csv.reader(io.StringIO((await client_a.get(f"/imports/{import_id}/errors.csv")).text))
    )
    reasons = {int(r[0]): r[1] for r in report[1:]}
    assert set(reasons) == {2, 3, 4}, reasons
    assert "not a choice of Tier" in reasons[2]
    assert "YYYY-MM-DD" in reasons[3]
    assert "http:// or https://" in reasons[4] and "members" in reasons[4]
    [rt1] = await contact_ids(tenant_a, "Rt1")
    stored = await custom_values(tenant_a, rt1)
    assert stored[str(fields["Tier"]["id"])] == "Gold"
    assert stored[str(fields["Budget"]["id"])] == {"amount": "12.50", "currency": "EUR"}
    assert stored[str(fields["Topics"]["id"])] == ["Ai", "Db"]
    assert stored[str(fields["Vip"]["id"])] is True
    assert stored[str(fields["Manager"]["id"])] == str(tenant_a.user_id)
    page = (await client_a.get(f"/contacts/{rt1}")).text
    assert "12.50 EUR" in page and "Ai; Db" in page
    # B's workspace: nothing of it
    assert not await contact_ids(tenant_b, "Rt1")

    # export: the fields are columns named by label, a member by email
    archive = await download_export(client_a)
    rows = {r["First name"]: r for r in rows_of(archive, "contacts.csv")}
    exported = rows["Rt1"]
    assert exported["Tier"] == "Gold" and exported["Budget"] == "12.50 EUR"
    assert exported["Topics"] == "Ai; Db" and exported["Vip"] == "Yes"
    assert exported["Manager"] == tenant_a.email and exported["Score"] == "-3.25"
    assert rows["Rt5"]["Vip"] == "No" and rows["Rt5"]["Tier"] == "Silver"
    assert "Secret" not in exported
    assert "custom fields follow" in archive.read("README.txt").decode()

    # …and imported again, every value comes back the same
    again = archive.read("contacts.csv").decode("utf-8-sig").replace("Rt1,", "Rt1b,", 1)
    second, _ = await run_import(client_a, again.encode())
    failed = (await client_a.get(f"/imports/{second}/errors.csv")).text
    assert failed.count("\n") == 1, failed.replace("\n", " | ")[:900]
    [copy] = await contact_ids(tenant_a, "Rt1b")
    assert await custom_values(tenant_a, copy) == stored
