"""Custom fields: admins define them (members can't), each type's validation (hostile values a
422 with a message), record forms and pages, the timeline naming the field, archive keeping
values, versions, and two workspaces that never see or use each other's fields."""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.core.db import tenant_transaction
from app.crm.tables import Activity, Contact, CustomField
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import add_colleague
from tests.helpers import Account, browser_client

BASE = "/settings/custom-fields"


async def add_field(
    client: Any, account: Account, kind: str, label: str, field_type: str, **extra: str
) -> dict[str, Any]:
    """Add a field through the settings page; its row as stored."""
    response = await client.post_form(
        BASE, {"object_kind": kind, "label": label, "field_type": field_type, **extra}
    )
    assert response.status_code == 303, response.text[:1500]
    return await field_row(account, label)


async def field_row(account: Account, label: str) -> dict[str, Any]:
    async with tenant_transaction(account.tenant_id):
        rows = await CustomField.select().where(CustomField.label == label)
    assert rows, label
    return dict(rows[0])


async def custom_values(account: Account, contact_id: str) -> dict[str, Any]:
    import msgspec

    async with tenant_transaction(account.tenant_id):
        row = await Contact.select(Contact.custom_values).where(Contact.id == contact_id).first()
    assert row is not None
    raw = row["custom_values"]
    return msgspec.json.decode(raw) if isinstance(raw, str) else raw


def errors_of(html: str) -> list[str]:
    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]+)<', html)


async def every_type(
    client: Any, account: Account, kind: str = "contact"
) -> dict[str, dict[str, Any]]:
    tag = uuid.uuid4().hex[:5]
    specs = {
        "text": {},
        "number": {},
        "money": {},
        "date": {},
        "select": {"options": "Gold\nSilver\nBronze"},
        "multi_select": {"options": "Email\nPhone\nPost"},
        "checkbox": {},
        "url": {},
        "user": {},
    }
    found = {}
    for field_type, extra in specs.items():
        found[field_type] = await add_field(
            client, account, kind, f"{field_type} {tag}", field_type, **extra
        )
    return found


async def test_admin_defines_fields_members_cannot_and_b_never_sees_them(
    client_a: Any, client_b: Any, tenant_a: Account, mailbox: Any
) -> None:
    page = await client_a.get(BASE)
    assert page.status_code == 200 and "Add a field" in page.text
    field = await add_field(client_a, tenant_a, "contact", "Renewal date", "date")
    assert field["key"] == "renewal_date" and field["tenant_id"] == tenant_a.tenant_id
    page = await client_a.get(BASE)
    assert "Renewal date" in page.text and "renewal_date" in page.text
    # workspace B: its page doesn't list A's field, its forms don't offer it, its id is a 404
    page_b = await client_b.get(BASE)
    assert "Renewal date" not in page_b.text
    form_b = await client_b.get("/contacts/new")
    assert "custom.renewal_date" not in form_b.text
    assert (await client_b.get(f"{BASE}/{field['id']}/edit")).status_code == 404
    refused = await client_b.post_form(
        f"{BASE}/{field['id']}/archive", {"version": str(field["version"])}
    )
    assert refused.status_code == 404
    # B can't use A's key on its own contacts
    response = await client_b.post_form(
        "/contacts/new", {"first_name": "Bea", "custom.renewal_date": "2027-01-01"}
    )
    assert response.status_code == 422 and "no custom field" in response.text
    # a member can't reach the settings, nor add a field
    member = await add_colleague(tenant_a, mailbox, "member")
    async with browser_client(client_a._transport.app) as other:
        await other.login(member.email, member.password)
        assert (await other.get(BASE)).status_code == 403
        refused = await other.post_form(
            BASE, {"object_kind": "contact", "label": "Sneaky", "field_type": "text"}
        )
        assert refused.status_code == 403
        # but the member's contact form shows the field
        assert "custom.renewal_date" in (await other.get("/contacts/new")).text
    admin = await add_colleague(tenant_a, mailbox, "admin")
    async with browser_client(client_a._transport.app) as other:
        await other.login(admin.email, admin.password)
        assert (await other.get(BASE)).status_code == 200
        added = await other.post_form(
            BASE, {"object_kind": "company", "label": "By admin", "field_type": "checkbox"}
        )
        assert added.status_code == 303


async def test_each_type_is_validated_and_stored_typed(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    fields = await every_type(client_a, tenant_a)
    name = {t: f"custom.{f['key']}" for t, f in fields.items()}
    good = {
        name["text"]: "  Ada   Lovelace ",
        name["number"]: "1 234,5",
        name["money"]: "99.9",
        name["money"] + ".currency": "eur",
        name["date"]: "2027-02-28",
        name["select"]: "silver",
        name["multi_select"]: ["", "Post", "Email"],
        name["checkbox"]: ["", "true"],
        name["url"]: "https://example.com/x?y=1",
        name["user"]: str(tenant_a.user_id),
    }
    contact = await make_contact(client_a, "Typed", "Person", **good)
    stored = await custom_values(tenant_a, contact)
    by_type = {t: stored.get(str(f["id"])) for t, f in fields.items()}
    assert by_type == {
        "text": "Ada Lovelace",
        "number": "1234.5",
        "money": {"amount": "99.90", "currency": "EUR"},
        "date": "2027-02-28",
        "select": "Silver",
        "multi_select": ["Email", "Post"],
        "checkbox": True,
        "url": "https://example.com/x?y=1",
        "user": str(tenant_a.user_id),
    }
    page = await client_a.get(f"/contacts/{contact}")
    assert "99.90 EUR" in page.text and "Email; Post" in page.text and "Silver" in page.text
    assert tenant_a.name in page.text  # the member field shows the member's name

    bad = {
        name["number"]: ("twelve", "as a number"),
        name["money"]: ("1.234", "at most 2 decimals"),
        name["date"]: ("2027-02-30", "YYYY-MM-DD"),
        name["select"]: ("Platinum", "not a choice"),
        name["multi_select"]: ("Email, Pigeon", "not a choice"),
        name["checkbox"]: ("maybe", "Tick or untick"),
        name["url"]: ("javascript:alert(1)", "http:// or https://"),
        name["user"]: (str(tenant_b.user_id), "members"),
        name["text"]: ("a\x00b", "control character"),
    }
    for input_name, (value, message) in bad.items():
        response = await client_a.post_form(
            "/contacts/new", {"first_name": "Bad", input_name: value}
        )
        assert response.status_code == 422, (input_name, response.text[:300])
        assert any(message in e for e in errors_of(response.text)), (message, response.text[-3000:])
        assert "Bad" in response.text  # the input is kept
    for hostile in ("x" * 100_000, "\u202e\ufeffÜñí©ødé", "ftp://example.com", "http://"):
        response = await client_a.post_form(
            "/contacts/new", {"first_name": "Hostile", name["url"]: hostile}
        )
        assert response.status_code == 422, hostile[:20]
    response = await client_a.post_form(
        "/contacts/new", {"first_name": "Long", name["text"]: "x" * 100_000}, htmx=True
    )
    assert response.status_code == 422 and "at most 2000" in response.text
    kept = await client_a.post_form(
        "/contacts/new",
        {
            "first_name": "Kept",
            name["number"]: "x",
            name["multi_select"]: ["", "Email", "Post"],
            name["checkbox"]: ["", "true"],
        },
    )
    assert kept.status_code == 422  # every choice and the tick come back with the message
    assert len(re.findall(r'value="(Email|Post)" checked', kept.text)) == 2
    assert re.search(rf'name="{re.escape(name["checkbox"])}" value="true" checked', kept.text)
    ok = await client_a.post_form("/contacts/new", {"first_name": "Ok", name["text"]: "Ünï 日本"})
    assert ok.status_code == 303


async def test_required_rename_archive_restore_and_timeline(
    client_a: Any, tenant_a: Account
) -> None:
    tier = await add_field(
        client_a, tenant_a, "contact", "Tier", "select", options="A\nB", required="1"
    )
    refused = await client_a.post_form("/contacts/new", {"first_name": "Nope"})
    assert refused.status_code == 422 and "Tier: it is required" in refused.text.replace(
        "Enter ", ""
    )
    contact = await make_contact(client_a, "Yes", "Tier", **{"custom.tier": "A"})
    version = re.search(
        r'name="version" value="(\d+)"', (await client_a.get(f"/contacts/{contact}/edit")).text
    )
    assert version is not None
    edit = await client_a.post_form(
        f"/contacts/{contact}/edit",
        {"first_name": "Yes", "last_name": "Tier", "custom.tier": "B", "version": version[1]},
    )
    assert edit.status_code == 303, edit.text[:500]
    async with tenant_transaction(tenant_a.tenant_id):
        entries = await Activity.select().where(Activity.subject_id == contact)
    assert any("changed Tier" in e["summary"] for e in entries), [e["summary"] for e in entries]
    # rename: the value stays (keyed by the field, not its name)
    saved = await client_a.post_form(
        f"{BASE}/{tier['id']}/edit",
        {"label": "Level", "options": "A\nB", "required": "1", "version": str(tier["version"])},
    )
    assert saved.status_code == 303, saved.text[:800]
    page = await client_a.get(f"/contacts/{contact}")
    assert "Level" in page.text and 'data-custom="tier">B<' in page.text
    # a stale edit of the field: 409, the page says so
    stale = await client_a.post_form(
        f"{BASE}/{tier['id']}/edit",
        {"label": "Other", "options": "A", "version": str(tier["version"])},
    )
    assert stale.status_code == 409 and "Someone changed this field" in stale.text
    # archive: hidden, not required, the value kept; restore brings it back
    row = await field_row(tenant_a, "Level")
    archived = await client_a.post_form(
        f"{BASE}/{row['id']}/archive", {"version": str(row["version"])}
    )
    assert archived.status_code == 303
    assert 'data-custom="tier"' not in (await client_a.get(f"/contacts/{contact}")).text
    assert await make_contact(client_a, "Free", "Again")
    assert str(row["id"]) in await custom_values(tenant_a, contact)
    row = await field_row(tenant_a, "Level")
    await client_a.post_form(f"{BASE}/{row['id']}/restore", {"version": str(row["version"])})
    assert 'data-custom="tier">B<' in (await client_a.get(f"/contacts/{contact}")).text
    # purge needs the field archived first, then deletes the values
    row = await field_row(tenant_a, "Level")
    refused = await client_a.post_form(
        f"{BASE}/{row['id']}/purge", {"version": str(row["version"])}
    )
    assert refused.status_code == 422 and "Archive the field first" in refused.text
    await client_a.post_form(f"{BASE}/{row['id']}/archive", {"version": str(row["version"])})
    row = await field_row(tenant_a, "Level")
    purged = await client_a.post_form(f"{BASE}/{row['id']}/purge", {"version": str(row["version"])})
    assert purged.status_code == 303
    assert str(row["id"]) not in await custom_values(tenant_a, contact)


async def test_company_fields_and_bad_definitions(client_a: Any, tenant_a: Account) -> None:
    await add_field(client_a, tenant_a, "company", "Website", "url")
    company = await make_company(
        client_a, "Initech", **{"custom.website": "http://initech.example"}
    )
    assert "http://initech.example" in (await client_a.get(f"/companies/{company}")).text
    listed = await client_a.get("/companies", params={"cols": "website", "cf.website.empty": "no"})
    assert listed.status_code == 200 and 'data-custom="website"' in listed.text
    assert "http://initech.example" in listed.text
    for data, message in (
        ({"label": "", "field_type": "text"}, "Enter the field"),
        ({"label": "S", "field_type": "select", "options": ""}, "List the choices"),
        ({"label": "S", "field_type": "select", "options": "a,b"}, "comma"),
        ({"label": "S", "field_type": "select", "options": "a\nA"}, "listed twice"),
        ({"label": "S", "field_type": "spreadsheet"}, "Choose the type"),
        ({"label": "S\x00", "field_type": "text"}, "control character"),
        ({"label": "K", "field_type": "text", "key": "Bad Key"}, "lowercase letters"),
        ({"label": "W", "field_type": "text", "key": "website"}, "is taken"),
    ):
        response = await client_a.post_form(BASE, {"object_kind": "company", **data}, htmx=True)
        assert response.status_code == 422, (data, response.text[:300])
        assert message in response.text, (message, response.text[:3000])


async def test_list_filters_and_columns_stay_in_the_workspace(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    for client, account in ((client_a, tenant_a), (client_b, tenant_b)):
        await add_field(client, account, "contact", "Score", "number")
        await add_field(client, account, "contact", "Plan", "multi_select", options="Pro\nTeam")
        await add_field(client, account, "contact", "Vip", "checkbox")
        await add_field(client, account, "contact", "Since", "date")
        await add_field(client, account, "contact", "Note", "text")
        await add_field(client, account, "contact", "Budget", "money")
    people = {
        "CfAda": {"score": "10", "plan": "Pro", "vip": "true", "since": "2026-01-05",
                  "note": "likes tea", "budget": "500"},
        "CfBob": {"score": "25.5", "plan": ["Pro", "Team"], "since": "2026-06-01",
                  "budget": "1500"},
        "CfCy": {"note": "Tea & cake"},
    }  # fmt: skip
    for first, values in people.items():
        data = {f"custom.{k}": v for k, v in values.items()}
        if "budget" in values:
            data["custom.budget.currency"] = "EUR"
        await make_contact(client_a, first, "Filter", **data)
        await make_contact(client_b, first.replace("Cf", "Cx"), "Filter", **data)

    async def shown(**params: Any) -> list[str]:
        response = await client_a.get("/contacts", params={"q": "Filter", **params})
        assert response.status_code == 200, response.text[:800]
        # the other workspace's people (CxAda…), never a random token that holds "Cx"
        assert not re.search(r"\b(CfX|Cx)\w* Filter", response.text)
        return sorted(set(re.findall(r"(Cf\w+) Filter", response.text)))

    assert await shown() == ["CfAda", "CfBob", "CfCy"]
    assert await shown(**{"cf.score.min": "11"}) == ["CfBob"]
    assert await shown(**{"cf.score.max": "10"}) == ["CfAda"]
    assert await shown(**{"cf.budget.min": "1000"}) == ["CfBob"]
    assert await shown(**{"cf.plan": ["Team"]}) == ["CfBob"]
    assert await shown(**{"cf.plan": ["Pro", "Team"]}) == ["CfAda", "CfBob"]
    assert await shown(**{"cf.vip": "yes"}) == ["CfAda"]
    assert await shown(**{"cf.vip": "no"}) == ["CfBob", "CfCy"]
    assert await shown(**{"cf.since.after": "2026-03-01"}) == ["CfBob"]
    assert await shown(**{"cf.since.before": "2026-03-01"}) == ["CfAda"]
    assert await shown(**{"cf.note.contains": "TEA"}) == ["CfAda", "CfCy"]
    assert await shown(**{"cf.note.contains": "%"}) == []
    assert await shown(**{"cf.score.empty": "yes"}) == ["CfCy"]
    assert await shown(**{"cf.score.empty": "no", "cf.note.contains": "tea"}) == ["CfAda"]
    # a saved view keeps them; the columns chosen show the values
    page = await client_a.get("/contacts", params={"q": "Filter", "cols": ["score", "budget"]})
    assert 'data-custom="score"' in page.text and "500.00 EUR" in page.text
    assert "25.5" in page.text
    # wrong values and unknown fields: 422 with a message, never a server error
    for params in (
        {"cf.score.min": "ten"},
        {"cf.since.after": "2026-02-30"},
        {"cf.vip.empty": "maybe"},
        {"cf.nope": "x"},
        {"cf.Bad Key": "x"},
        {"cols": "nope"},
        {"cf.note.contains": "\x00"},
        {"cf.note.contains": "x" * 20_000},
        {"cf.note.sideways": "x"},
    ):
        response = await client_a.get("/contacts", params=params)
        assert response.status_code == 422, (params, response.status_code)


async def test_account_deletion_clears_member_fields_naming_the_person(
    client_a: Any, tenant_a: Account, mailbox: Any
) -> None:
    from app.core.datamap import Subject
    from app.crm.custom_forget import forget_member_in_custom_values

    field = await add_field(client_a, tenant_a, "contact", "Account manager", "user")
    colleague = await add_colleague(tenant_a, mailbox, "member")
    mine = await make_contact(
        client_a, "Kept", "Manager", **{"custom.account_manager": str(tenant_a.user_id)}
    )
    theirs = await make_contact(
        client_a, "Gone", "Manager", **{"custom.account_manager": colleague.email}
    )
    assert (await custom_values(tenant_a, theirs))[str(field["id"])] == str(colleague.user_id)
    subject = Subject(user_id=colleague.user_id, tenant_ids=(tenant_a.tenant_id,))
    assert await forget_member_in_custom_values(subject) == 1
    assert str(field["id"]) not in await custom_values(tenant_a, theirs)
    assert (await custom_values(tenant_a, mine))[str(field["id"])] == str(tenant_a.user_id)


async def test_deal_fields_in_form_page_timeline_and_filters(
    client_a: Any, tenant_a: Account
) -> None:
    from tests.deals.helpers import stages

    await add_field(
        client_a, tenant_a, "deal", "Source", "select", options="Web\nEvent", required="1"
    )
    stage = (await stages(tenant_a))["Lead"].id
    base = {"title": "Cf deal", "amount": "10", "currency": "EUR", "stage_id": str(stage)}
    refused = await client_a.post_form("/deals", base)
    assert refused.status_code == 422 and "Source: it is required" in refused.text
    made = await client_a.post_form("/deals", {**base, "custom.source": "event"})
    assert made.status_code == 303, made.text[:500]
    deal_path = made.headers["location"]
    page = await client_a.get(deal_path)
    assert 'data-custom="source">Event<' in page.text
    edit = await client_a.get(deal_path + "/edit")
    assert "<option selected>Event</option>" in edit.text
    version = re.search(r'name="version" value="(\d+)"', edit.text)
    assert version is not None
    saved = await client_a.post_form(
        deal_path, {**base, "custom.source": "Web", "version": version[1]}
    )
    assert saved.status_code == 303, saved.text[:800]
    assert 'data-custom="source">Web<' in (await client_a.get(deal_path)).text
    async with tenant_transaction(tenant_a.tenant_id):
        entries = await Activity.select().where(Activity.subject_type == "deal")
    assert any("Source" in str(e["changes"]) for e in entries)
    table = await client_a.get("/deals/list", params={"cf.source": "Web"})
    assert table.status_code == 200 and "Cf deal" in table.text
    none = await client_a.get("/deals/list", params={"cf.source": "Event"})
    assert "Cf deal" not in none.text
    assert 'name="cf.source"' in none.text  # the filter form offers the field
    assert (await client_a.get("/deals/list", params={"cf.nope": "x"})).status_code == 422
    from tests.privacy.test_export import download_export, rows_of

    deals = rows_of(await download_export(client_a), "deals.csv")
    assert [d["Source"] for d in deals if d["Title"] == "Cf deal"] == ["Web"]


async def test_merge_keeps_both_contacts_custom_values(client_a: Any, tenant_a: Account) -> None:
    """A merge keeps the survivor's values and takes the other's for fields it left empty."""
    tier = await add_field(client_a, tenant_a, "contact", "Merge tier", "select", options="A\nB")
    region = await add_field(client_a, tenant_a, "contact", "Merge region", "text")
    keep = await make_contact(client_a, "Ada", "Keep", **{f"custom.{tier['key']}": "A"})
    gone = await make_contact(
        client_a,
        "Ada",
        "Gone",
        **{f"custom.{tier['key']}": "B", f"custom.{region['key']}": "North"},
    )
    form = {"other_id": gone, "version": "1", "other_version": "1", "last_name": "this"}
    merged = await client_a.post_form(f"/contacts/{keep}/merge", form)
    assert merged.status_code in (200, 303), merged.text[:800]
    values = await custom_values(tenant_a, keep)
    assert values[str(tier["id"])] == "A"  # the survivor's own value wins
    assert values[str(region["id"])] == "North"  # the other's fills the gap
