"""A list page's frame (people, saved views, custom fields) read in one statement
(app/crm/list_frame.py) equals what the separate reads gave, in the same orders, for every
list kind and reader; another workspace's people, views and fields never show, nor another
member's private views, nor archived fields."""

from __future__ import annotations

from typing import Any

from app.accounts.queries import workspace_people
from app.core.db import connection, tenant_transaction
from app.crm.custom_fields import kind_fields
from app.crm.list_frame import list_frame
from app.crm.saved_views import SavedRow, saved_views
from tests.crm.test_custom_fields import BASE, add_field
from tests.deals.helpers import add_colleague, current_of
from tests.helpers import Account

VIEWS = (
    "select id, name, query, shared, user_id from saved_views"
    " where tenant_id = $1 and kind = $2 and (user_id = $3 or shared) order by name"
)


async def _separate(account: Account, plural: str, kind: str) -> tuple[Any, Any, Any]:
    """The frame's parts as the pages read them before: one statement each."""
    current = await current_of(account)
    async with tenant_transaction(account.tenant_id, account.user_id):
        people = await workspace_people()
        rows = await connection().fetch(VIEWS, account.tenant_id, plural, account.user_id)
        fields = await kind_fields(kind)
    views = saved_views(current, plural, [SavedRow(**dict(r)) for r in rows])
    return people, views, fields


async def test_frame_is_the_separate_reads(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    await add_colleague(tenant_b, mailbox, "member")
    for name, shared in (("zeta mine", ""), ("Alpha shared", "on"), ("beta mine", "")):
        sent = {"kind": "contacts", "name": name, "query": "tags_op=any&tags=x", "shared": shared}
        assert (await client_a.post_form("/views", sent)).status_code in (200, 303)
    sent = {"kind": "contacts", "name": "Theirs", "query": "", "shared": "on"}
    assert (await client_b.post_form("/views", sent)).status_code in (200, 303)
    await add_field(client_a, tenant_a, "contact", "Tier", "select", options="Gold\nSilver")
    await add_field(client_a, tenant_a, "contact", "Area", "text")
    old = await add_field(client_a, tenant_a, "contact", "Gone", "number")
    archived = await client_a.post_form(
        f"{BASE}/{old['id']}/archive", {"version": str(old["version"])}
    )
    assert archived.status_code in (200, 303)
    await add_field(client_a, tenant_a, "deal", "Deal only", "date")
    await add_field(client_b, tenant_b, "contact", "Their field", "text")
    for reader in (tenant_a, member):
        current = await current_of(reader)
        for plural, kind in (("contacts", "contact"), ("companies", "company"), ("deals", "deal")):
            async with tenant_transaction(reader.tenant_id, reader.user_id):
                frame = await list_frame(current, plural, kind)
            people, views, fields = await _separate(reader, plural, kind)
            assert (frame.people, frame.views, frame.fields) == (people, views, fields)
    async with tenant_transaction(tenant_a.tenant_id, tenant_a.user_id):
        frame = await list_frame(await current_of(tenant_a), "contacts", "contact")
    assert [v.name for v in frame.views] == ["Alpha shared", "beta mine", "zeta mine"]
    assert [f.label for f in frame.fields] == ["Tier", "Area"]
    assert frame.fields[0].options == ["Gold", "Silver"]
    assert {p.user_id for p in frame.people} == {tenant_a.user_id, member.user_id}
    assert frame.member_options == [(str(p.user_id), p.name) for p in frame.people]
    # the member sees the shared view only, never the owner's private ones
    async with tenant_transaction(member.tenant_id, member.user_id):
        theirs = await list_frame(await current_of(member), "contacts", "contact")
    assert [v.name for v in theirs.views] == ["Alpha shared"]
    assert not theirs.views[0].can_change
