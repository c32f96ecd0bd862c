"""The htmx contract: a block for a swap, the whole page for a history restore (the browser's
Back after a cache miss), `Vary: HX-Request` wherever the answer differs by it."""

from __future__ import annotations

from typing import Any

from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account

SWAP = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


async def test_lists_answer_swaps_with_the_block_and_back_with_the_page(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await make_contact(client_a, "Zed", "Zulu")
    await make_company(client_a, "Zeta Corp")
    await make_deal(tenant_a, "Zeppelin")
    for path, query, shown in (
        ("/contacts", {"q": "zed", "sort": "name"}, "Zed Zulu"),
        ("/companies", {"q": "zeta", "sort": "newest"}, "Zeta Corp"),
        ("/deals", {"q": "", "sort": "newest"}, "Zeppelin"),  # was "'c' is undefined"
    ):
        swap = await client_a.get(path, params=query, headers=SWAP)
        assert swap.status_code == 200 and shown in swap.text, (path, swap.text[:300])
        assert "<html" not in swap.text and 'class="app-shell"' not in swap.text
        back = await client_a.get(path, params=query, headers=RESTORE)
        assert back.status_code == 200 and shown in back.text
        assert "<html" in back.text and 'class="app-shell"' in back.text, path
        for response in (swap, back):
            assert "HX-Request" in response.headers["vary"]


async def test_vary_on_pages_redirects_errors_and_not_on_static_files(
    client: Any, client_a: Any
) -> None:
    answers = [
        await client_a.get("/contacts"),
        await client_a.get("/contacts/not-a-uuid"),  # the router's own 404
        await client_a.get(f"/contacts/{'0' * 8}-0000-4000-8000-{'0' * 12}"),
        await client.get("/app"),  # a redirect to the login page
        await client.get("/app", headers=SWAP),  # HX-Redirect
        await client_a.post_form("/contacts/new", {"first_name": ""}, htmx=True),  # 422
    ]
    for response in answers:
        assert "HX-Request" in response.headers.get("vary", ""), response.status_code
    assert "vary" not in (await client.get("/static/js/app.js")).headers


async def test_refusals_for_htmx_swap_the_form_or_say_why_in_a_toast(client_a: Any) -> None:
    form = await client_a.post_form(
        "/contacts/new", {"first_name": "", "tags": "x" * 60}, htmx=True
    )
    assert form.status_code == 422 and form.text.lstrip().startswith("<form")
    assert "A tag can be at most 50 characters." in form.text
    # a bad search has no form to go back to: 422, the target keeps its content, a toast says why
    search = await client_a.get("/contacts", params={"q": "\x00"}, headers=SWAP)
    assert search.status_code == 422 and search.headers["hx-reswap"] == "none"
    assert "control character" in search.headers["hx-trigger"]
    # a history restore of a refused URL gets a whole page that says why
    page = await client_a.get("/contacts", params={"q": "\x00"}, headers=RESTORE)
    assert page.status_code == 422 and "<html" in page.text and "control character" in page.text
