"""The dashboard shows this workspace's pipeline, tasks and activity, never another's."""

from __future__ import annotations

import html
from typing import Any

from tests.deals.helpers import make_deal
from tests.helpers import Account


async def test_new_workspace_gets_an_empty_state(client_a: Any) -> None:
    page = await client_a.get("/app")
    assert page.status_code == 200 and "Your pipeline starts here" in page.text


async def test_dashboard_sums_open_pipeline_and_lists_my_tasks(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    deal = await make_deal(tenant_a, "Robot arms", amount="1200.50", currency="EUR")
    await make_deal(tenant_a, "Spare parts", amount="99.50", currency="EUR")
    await make_deal(tenant_b, "B secret deal", amount="777777", currency="USD")
    await client_a.post_form(
        f"/records/deal/{deal}/tasks",
        {"title": "Send the quote", "assignee_id": str(tenant_a.user_id), "due_date": "2020-01-01"},
    )
    text = html.unescape((await client_a.get("/app")).text)
    assert "Open pipeline · 2 deals" in text and "1,300.00" in text
    assert "Send the quote" in text and "Robot arms" in text  # task and recent activity
    assert "777,777" not in text and "B secret deal" not in text
    other = html.unescape((await client_b.get("/app")).text)
    assert "777,777.00" in other and "Robot arms" not in other and "Send the quote" not in other


def _steps(page: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-step="(\w+)" data-done="(yes|no)"', page))


async def test_first_run_checklist_ticks_itself_and_can_be_hidden(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    from tests.conftest import unique_email
    from tests.helpers import run_jobs

    page = (await client_a.get("/app")).text
    assert "Get " in page and _steps(page) == {
        "people": "no",
        "team": "no",
        "pipeline": "no",
        "deal": "no",
    }
    await make_deal(tenant_a, "First deal")
    await client_a.post_form("/contacts/new", {"first_name": "Ada", "last_name": "Lovelace"})
    invited = await client_a.post_form(
        "/settings/team/invite", {"email": unique_email("onb"), "role": "member"}
    )
    assert invited.status_code == 303
    await run_jobs()
    steps = _steps((await client_a.get("/app")).text)
    assert steps == {"people": "yes", "team": "yes", "pipeline": "no", "deal": "yes"}
    # B's checklist is B's own: nothing of A's progress shows there
    assert set(_steps((await client_b.get("/app")).text).values()) == {"no"}
    hidden = await client_a.post_form("/app/onboarding/hide", {})
    assert hidden.status_code == 303
    assert 'id="onboarding"' not in (await client_a.get("/app")).text
    assert 'id="onboarding"' in (await client_b.get("/app")).text  # hidden for A only
