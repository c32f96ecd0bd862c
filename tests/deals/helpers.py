"""Helpers for the deals and realtime tests: colleagues, stages, deals made through services."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.accounts import team
from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core.forms import parse
from app.deals import pipelines, services
from app.deals.schemas import DealForm, StageInfo
from tests.helpers import PASSWORD, Account, Mailbox, run_jobs


async def current_of(account: Account) -> Current:
    current = await load_current(account.user_id, account.tenant_id)
    assert current is not None
    return current


async def add_colleague(owner: Account, mailbox: Mailbox, role: str = "member") -> Account:
    """Invite a new person into the owner's workspace and accept, through the real services."""
    email = f"colleague-{uuid.uuid4().hex[:10]}@example.com"
    name = f"Colleague {uuid.uuid4().hex[:4]}"
    await team.invite(await current_of(owner), email, role)
    await run_jobs()
    token = mailbox.last_link(email, "/invite/accept").split("token=")[1]
    user_id, tenant_id = await team.accept_invitation(token, None, name, PASSWORD)
    return Account(user_id, tenant_id, email, PASSWORD, name, owner.company)


async def stages(account: Account) -> dict[str, StageInfo]:
    """The default pipeline's stages by name."""
    board = await pipelines.load_board(await current_of(account))
    return {col.stage.name: col.stage for col in board.columns}


async def make_deal(account: Account, title: str, stage: str = "Lead", **extra: Any) -> UUID:
    stage_id = (await stages(account))[stage].id
    values = {"title": title, "amount": "1000", "currency": "EUR", "stage_id": str(stage_id)}
    values.update({k: str(v) for k, v in extra.items()})
    return await services.create_deal(await current_of(account), parse(DealForm, values))


async def version_of(account: Account, deal_id: UUID) -> int:
    from app.deals.reading import get_deal

    return (await get_deal(await current_of(account), deal_id)).card.version
