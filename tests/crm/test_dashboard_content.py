"""The dashboard's rendered content kept per process (app/crm/dashboard.py, `dashboard_content`):
reused while the state read on every page (versions, my tasks, the checklist's facts, the record
counts) and the reader (day, role, workspace name, locale) are the same; each reader's own CSRF
token in it; rendered again after a change of any of them. The workspace's figures' own changes
are in test_dashboard_cache.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.core.kept import CSRF_MARK
from app.crm import dashboard
from tests.crm.test_notes_tasks import add_colleague
from tests.deals.helpers import make_deal
from tests.helpers import Account, Counts, app_sql, browser_client, count_calls


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often a dashboard was built to be rendered (kept contents dropped first)."""
    seen = Counts()
    count_calls(monkeypatch, seen, "renders", dashboard, "_dashboard")
    dashboard.forget_all()
    yield seen
    dashboard.forget_all()


async def _page(client: Any) -> str:
    page = await client.get("/app")
    assert page.status_code == 200, page.status_code
    return str(page.text)


def _token(page: str) -> str:
    return page.split('name="_csrf" value="')[1].split('"')[0]


def _content(page: str) -> str:
    return page.split('id="onboarding"', 1)[1].rsplit("</main>", 1)[0]


async def test_kept_with_each_readers_token(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    await make_deal(tenant_a, "Kept deal", amount="4321")
    first = await _page(client_a)
    assert counts.renders == 1 and "4,321.00" in first and 'id="onboarding"' in first
    assert await _page(client_a) == first and counts.renders == 1
    dashboard.forget_all()  # the kept content is what a fresh render writes
    assert await _page(client_a) == first and counts.renders == 2
    assert CSRF_MARK not in first and _token(first) == client_a.csrf
    # another reader of the same role: their own token in the same kept content
    colleague = await add_colleague(tenant_a, "dashreader")
    await app_sql(
        tenant_a, "update memberships set role = 'owner' where user_id = $1", colleague.user_id
    )
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        mine = await _page(client_a)  # the team step is done now
        renders = counts.renders
        theirs = await _page(other)
        assert _token(theirs) == other.csrf and other.csrf != client_a.csrf
        assert counts.renders == renders  # the same state and role: the kept content
        assert _content(theirs).replace(other.csrf, "") == _content(mine).replace(client_a.csrf, "")


async def test_role_workspace_name_and_hidden_checklist(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts
) -> None:
    colleague = await add_colleague(tenant_a, "dashrole")
    async with browser_client(app) as other:
        await other.login(colleague.email, colleague.password)
        page = await _page(other)
        assert 'data-step="deal"' in page and 'data-step="team"' not in page  # a member
        await app_sql(
            tenant_a, "update memberships set role = 'admin' where user_id = $1", colleague.user_id
        )
        page = await _page(other)
        assert 'data-step="team"' in page  # an admin's steps
        await app_sql(
            tenant_a, "update memberships set role = 'member' where user_id = $1", colleague.user_id
        )
        page = await _page(other)
        assert 'data-step="team"' not in page
    renders = counts.renders
    await app_sql(
        tenant_a, "update tenants set name = 'Renamed Workspace' where id = $1", tenant_a.tenant_id
    )
    page = await _page(client_a)
    assert "Get Renamed Workspace set up" in page and counts.renders == renders + 1
    hidden = await client_a.post_form("/app/onboarding/hide", {})
    assert hidden.status_code == 303
    assert 'id="onboarding"' not in await _page(client_a)


async def test_kept_contents_are_bounded(
    client_a: Any, tenant_a: Account, tenant_b: Account, counts: Counts, monkeypatch: Any
) -> None:
    monkeypatch.setattr(dashboard._contents, "most", 2)
    for n in range(3):
        await make_deal(tenant_a, f"More {n}")
        await _page(client_a)
    assert dashboard.kept_contents() == 2
