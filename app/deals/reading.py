"""Reading deals: the list (search, sort, keyset pages), the detail page, form choices."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.forms import values as form
from app.core.rows import Choices
from app.crm.common import members
from app.crm.queries import company_choices
from app.deals.queries import (
    SORTS,
    contact_choices,
    deal_card,
    deal_contact_refs,
    deal_page,
)
from app.deals.schemas import DealCard, DealDetail, DealPage

SORT_CHOICES = [(key, spec.label) for key, spec in SORTS.items()]  # the list's order picker


async def list_deals(
    current: Current, query: str = "", sort: str = "newest", cursor: str = "", limit: int = 50
) -> DealPage:
    """A page of deals matching `query` (title, company), in `sort` order, after `cursor`."""
    query = " ".join(query.split())[:200]
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        return await deal_page(conn, query, sort, cursor, limit)


def one_transaction(current: Current) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """One tenant transaction for a page that reads several parts (each part's own
    `tenant_transaction` joins it): one unit of work instead of one per part."""
    return tenant_transaction(current.tenant_id, current.user_id)


async def get_deal(current: Current, deal_id: UUID) -> DealDetail:
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        card = await deal_card(conn, deal_id)
        if card is None:
            raise RecordNotFound("deal")
        contacts = await deal_contact_refs(conn, deal_id)
    return DealDetail(card=card, contacts=contacts)


def form_values(detail: DealDetail) -> dict[str, str | list[str]]:
    """The edit form's starting values, as the form shows them."""
    card: DealCard = detail.card
    fields = ("title", "currency", "stage_id", "expected_close_date", "owner_id", "company_id")
    values: dict[str, str | list[str]] = {
        **form.form_values(msgspec.structs.asdict(card), (*fields, "lost_reason", "version"))
    }
    values["amount"] = f"{card.amount:.2f}"
    values["contact_ids"] = [str(c.id) for c in detail.contacts]
    return values


class DealFormOptions(msgspec.Struct, frozen=True):
    """Choices for the deal form: (id, label) pairs."""

    members: Choices
    companies: Choices
    contacts: Choices


async def form_options(current: Current, shown: Mapping[str, object]) -> DealFormOptions:
    """Choices for the deal form: members, and the company and contacts `shown` as chosen
    (their pickers search the rest on the server, app/search)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        return DealFormOptions(
            members=[(str(p.user_id), p.name) for p in await members()],
            companies=await company_choices(conn, form.chosen_ids(shown.get("company_id"))),
            contacts=await contact_choices(conn, form.chosen_ids(shown.get("contact_ids"))),
        )
