"""Plan limits: seats on invite (through the team page), records on create, per tenant."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.billing.limits import check_record_limit, check_seat_limit, usage_and_plan
from app.billing.simulate import simulate_checkout
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid
from tests.helpers import Account, run_jobs


async def _invite(client: Any, email: str) -> Any:
    return await client.post_form("/settings/team/invite", {"email": email, "role": "member"})


async def test_seat_limit_on_invite_with_upgrade_link(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    # Free: 3 seats = the owner + 2 open invitations
    for n in range(2):
        assert (
            await _invite(client_a, f"a{n}-{uuid.uuid4().hex[:6]}@example.com")
        ).status_code == 303
    refused = await _invite(client_a, f"a3-{uuid.uuid4().hex[:6]}@example.com")
    assert refused.status_code == 422
    assert "Your Free plan includes 3 seats" in refused.text
    assert '<a href="/settings/billing">Upgrade your plan</a>' in refused.text

    # the other workspace's seats are its own
    assert (await _invite(client_b, f"b0-{uuid.uuid4().hex[:6]}@example.com")).status_code == 303
    usage_b, plan_b = await usage_and_plan(tenant_b.tenant_id)
    assert (usage_b.seats, plan_b.key) == (2, "free")

    # after upgrading (test mode checkout, applied by the job) the invitation goes through
    from app.accounts.services import load_current

    owner = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    assert owner is not None
    await simulate_checkout(owner, "pro")
    await run_jobs()
    assert (await _invite(client_a, f"a3-{uuid.uuid4().hex[:6]}@example.com")).status_code == 303
    await check_seat_limit(tenant_a.tenant_id)
    with pytest.raises(FormInvalid):
        await check_seat_limit(tenant_b.tenant_id, adding=2)


async def test_record_limit_counts_contacts_and_companies_of_the_tenant_only(
    tenant_a: Account, tenant_b: Account
) -> None:
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into companies (id, tenant_id, name) values ($1, $2, 'Acme')",
            uuid.uuid4(),
            tenant_a.tenant_id,
        )
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name) values ($1, $2, 'Ada')",
            uuid.uuid4(),
            tenant_a.tenant_id,
        )
    usage_a, plan = await usage_and_plan(tenant_a.tenant_id)
    assert usage_a.records == 2 and plan.record_limit == 500
    await check_record_limit(tenant_a.tenant_id, "contacts", adding=498)
    with pytest.raises(FormInvalid) as refused:
        await check_record_limit(tenant_a.tenant_id, "contacts", adding=499)
    message = refused.value.errors["form"]
    assert "Free plan holds 500 contacts and companies" in message and "498 left" in message
    assert 'href="/settings/billing"' in message
    # B has none of A's records, so 499 fit there; and a check inside B's own transaction works
    async with tenant_transaction(tenant_b.tenant_id):
        await check_record_limit(tenant_b.tenant_id, "companies", adding=499)
        assert (await usage_and_plan(tenant_b.tenant_id))[0].records == 0


async def test_create_contact_is_refused_at_the_limit(tenant_a: Account) -> None:
    from app.accounts.services import load_current
    from app.crm.contacts import create_contact
    from app.crm.schemas import ContactForm

    owner = await load_current(tenant_a.user_id, tenant_a.tenant_id)
    assert owner is not None
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute(
            "insert into companies (id, tenant_id, name)"
            " select gen_random_uuid(), $1, 'Co ' || n from generate_series(1, 500) n",
            tenant_a.tenant_id,
        )
    with pytest.raises(FormInvalid) as refused:
        await create_contact(owner, ContactForm(first_name="Over", last_name="Limit"))
    assert "Upgrade your plan" in refused.value.errors["form"]
