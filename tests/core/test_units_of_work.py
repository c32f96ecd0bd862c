"""One transaction per request path where the work is one unit (app.core.db counts BEGINs).

Every signed-in request also resolves who is asking (`load_current`: the session lives in
Valkey, the membership check is one self-scoped statement, no transaction of its own, before
the route runs); the route's own work is measured on top of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from app.accounts.services import load_current
from app.core.db import tally, tenant_transaction
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal, stages, version_of
from tests.helpers import Account, make_account

T = TypeVar("T")


async def begun(work: Awaitable[T]) -> tuple[T, int]:
    """`work`'s result and how many transactions it opened (not counting what other tasks of
    the process, such as start-up work or a previous test's after-commit jobs, open meanwhile)."""
    with tally() as opened:
        result = await work
    return result, opened[0]


async def signed_in(account: Account) -> int:
    """What resolving the signed-in user costs on every request."""
    _, opened = await begun(load_current(account.user_id, account.tenant_id))
    return opened


async def test_resolving_the_signed_in_user_opens_no_transaction(tenant_a: Account) -> None:
    """One statement that sets its own scope (db.self_scoped): no BEGIN, no COMMIT."""
    assert await signed_in(tenant_a) == 0


async def test_a_board_move_is_one_transaction(client_a: Any, tenant_a: Account) -> None:
    s = await stages(tenant_a)
    first = await make_deal(tenant_a, "First")
    deal = await make_deal(tenant_a, "Moved")
    data = {
        "stage_id": str(s["Qualified"].id),
        "version": str(await version_of(tenant_a, deal)),
        "from_stage_id": str(s["Lead"].id),
    }
    moved, opened = await begun(client_a.post_form(f"/deals/{deal}/move", data, htmx=True))
    assert moved.status_code == 200 and moved.headers.get("x-odex-move") is None
    assert opened == await signed_in(tenant_a) + 1  # the move, its answer and its push
    data.update(stage_id=str(s["Lead"].id), after_id=str(first), version="1")  # stale
    refused, opened = await begun(client_a.post_form(f"/deals/{deal}/move", data, htmx=True))
    assert refused.headers.get("x-odex-move") == "refused"
    assert opened == await signed_in(tenant_a) + 1


async def test_a_company_page_is_one_transaction(client_a: Any, tenant_a: Account) -> None:
    company = await make_company(client_a, f"Initech {uuid.uuid4().hex[:6]}")
    await make_contact(client_a, "Peter", "Gibbons", company_id=company)
    await make_deal(tenant_a, "Printers", company_id=company)
    page, opened = await begun(client_a.get(f"/companies/{company}"))
    assert page.status_code == 200 and "Peter" in page.text and "Printers" in page.text
    assert opened == await signed_in(tenant_a) + 1


async def test_a_contact_page_is_one_transaction(client_a: Any, tenant_a: Account) -> None:
    contact = await make_contact(client_a, "Milton", "Waddams")
    page, opened = await begun(client_a.get(f"/contacts/{contact}"))
    assert page.status_code == 200 and "Milton" in page.text
    assert opened == await signed_in(tenant_a) + 1


async def test_the_workspace_switcher_is_one_transaction_whatever_the_count(
    client_a: Any, tenant_a: Account
) -> None:
    others = []
    for joined in (0, 3):
        while len(others) < joined:  # tenant_a's user joins other workspaces
            other = await make_account("W")
            async with tenant_transaction(other.tenant_id) as conn:
                await conn.execute(
                    "insert into memberships (id, tenant_id, user_id, role)"
                    " values ($1, $2, $3, 'member')",
                    uuid.uuid4(),
                    other.tenant_id,
                    tenant_a.user_id,
                )
            others.append(other)
        listing, opened = await begun(client_a.get("/workspaces"))
        assert listing.status_code == 200
        assert all(a.company in listing.text for a in [tenant_a, *others])
        assert opened == await signed_in(tenant_a) + 1
    switched, opened = await begun(client_a.post_form(f"/workspaces/{others[0].tenant_id}/switch"))
    assert switched.status_code == 303
    assert opened == await signed_in(tenant_a) + 1


async def test_a_kept_dashboard_opens_no_transaction(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """The dashboard's state is one self-scoped statement (odex_dashboard_state): once its
    content is kept, a page is the signed-in check and that statement, no BEGIN/COMMIT; a
    change makes the next page read (and render) again in one transaction. Each workspace
    sees its own figures only."""
    await make_contact(client_a, "Bill", "Lumbergh")
    first, _ = await begun(client_a.get("/app"))
    assert first.status_code == 200
    kept, opened = await begun(client_a.get("/app"))
    assert kept.status_code == 200 and opened == 0
    await make_contact(client_a, "Samir", "Nagheenanajar")
    changed, opened = await begun(client_a.get("/app"))
    assert changed.status_code == 200 and opened == 1
    assert changed.text != kept.text  # the count of contacts moved
    other, _ = await begun(client_b.get("/app"))
    again, opened = await begun(client_b.get("/app"))
    assert other.status_code == again.status_code == 200 and opened == 0
    assert tenant_a.company not in again.text and tenant_b.company in again.text
