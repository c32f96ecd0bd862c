"""A record list's parts around its rows (the filter form, the saved views bar, the bulk bar)
are kept rendered per the values they show (`kept`, app/core/templating.py): the page is the
same as a fresh render for an owner and a member, with filters and views, and after a member
renamed, a view added or a field added the next load shows it; another workspace's never
shows, and each reader gets their own CSRF token in the kept forms."""

from __future__ import annotations

from typing import Any

from app.core import templating
from app.core.db import tenant_transaction
from tests.crm.test_custom_fields import add_field
from tests.crm.test_records import make_contact
from tests.deals.helpers import add_colleague
from tests.helpers import Account, browser_client


def _content(page: str) -> str:
    """The list's part of a page (the layout around it is not kept here)."""
    return page.split('id="list-filters"', 1)[1].rsplit("</main>", 1)[0]


def _tokens(page: str) -> set[str]:
    return {part.split('"')[0] for part in page.split('name="_csrf" value="')[1:]}


async def _same_as_fresh(client: Any, params: dict[str, str] | None = None) -> str:
    """The page loaded twice (the second from the kept parts) equals a fresh render."""
    first = await client.get("/contacts", params=params or {})
    assert first.status_code == 200, first.status_code
    kept = await client.get("/contacts", params=params or {})
    templating._parts.clear()
    templating._fragments.clear()
    fresh = await client.get("/contacts", params=params or {})
    assert _content(kept.text) == _content(fresh.text) == _content(first.text)
    assert _tokens(kept.text) == {client.csrf}  # the reader's own token, in every form
    return _content(kept.text)


async def test_list_parts_equal_a_fresh_render_and_follow_changes(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, mailbox: Any
) -> None:
    member = await add_colleague(tenant_a, mailbox, "member")
    await make_contact(client_a, "Pia", "Parts", tags="vip", owner_id=str(member.user_id))
    await make_contact(client_b, "Theo", "Theirs")
    await add_field(client_b, tenant_b, "contact", "Their secret field", "text")
    sent = {"kind": "contacts", "name": "Their view", "query": "", "shared": "on"}
    assert (await client_b.post_form("/views", sent)).status_code in (200, 303)
    filters = {"q": "Parts", "tags_op": "any", "tags": "vip", "owner_op": "is"}
    filters["owner"] = str(member.user_id)
    async with browser_client(app) as other:
        await other.login(member.email, member.password)
        for client in (client_a, other):
            for params in (None, filters, {"sort": "owner", "dir": "desc"}):
                page = await _same_as_fresh(client, params)
                assert member.name in page and "Their view" not in page
                assert "Their secret field" not in page and tenant_b.name not in page
        # the same kept parts for two readers: each gets their own token
        assert client_a.csrf != other.csrf

        # a member renamed: the owner choices (filter form and bulk bar) show the new name
        async with tenant_transaction(member.tenant_id) as conn:
            await conn.execute(
                "update users set name = 'Mara Renamed' where id = $1", member.user_id
            )
        for client in (client_a, other):
            page = await _same_as_fresh(client)
            assert page.count(">Mara Renamed</option>") == 2 and member.name not in page

        # a view added (shared): both readers see it at once; a private one only its owner
        sent = {"kind": "contacts", "name": "Shared vips", "query": "tags=vip", "shared": "on"}
        assert (await client_a.post_form("/views", sent)).status_code in (200, 303)
        sent = {"kind": "contacts", "name": "Mine only", "query": "q=x", "shared": ""}
        assert (await other.post_form("/views", sent)).status_code in (200, 303)
        page_a, page_m = await _same_as_fresh(client_a), await _same_as_fresh(other)
        assert "Shared vips" in page_a and "Shared vips" in page_m
        assert "Mine only" in page_m and "Mine only" not in page_a
        # the owner may change the shared view (its menu), the member may not
        assert "Change Shared vips" in page_a and "Change Shared vips" not in page_m

        # a field added: its filter, its column choice and the bulk bar's field show
        await add_field(client_a, tenant_a, "contact", "Region", "text")
        for client in (client_a, other):
            page = await _same_as_fresh(client, filters)
            assert 'id="f-cf-region"' in page and 'id="col-region"' in page
            assert 'id="bulk-field"' in page and ">Region</option>" in page

    # the other workspace: its own parts, none of A's
    page_b = await _same_as_fresh(client_b)
    assert "Their view" in page_b and "Their secret field" in page_b
    for text in ("Mara Renamed", "Shared vips", "Region", tenant_a.name):
        assert text not in page_b


async def test_kept_parts_are_bounded(client_a: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(templating, "PARTS_KEPT", 3)
    templating._parts.clear()
    for n in range(6):
        assert (await client_a.get("/contacts", params={"q": f"bound{n}"})).status_code == 200
    assert len(templating._parts) <= 3
