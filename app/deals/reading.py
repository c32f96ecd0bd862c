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
    deal_form_row,
    deal_page,
    stage_choices,
)
from app.deals.schemas import DealCard, DealDetail, DealPage, StageChoice

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


async def deal_for_form(current: Current, deal_id: UUID) -> tuple[DealDetail, str | None]:
    """A deal as its edit form shows it, and its custom values as stored (one statement);
    another workspace's or a deleted deal: RecordNotFound."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        found = await deal_form_row(conn, deal_id)
    if found is None:
        raise RecordNotFound("deal")
    return found


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


async def form_options(
    current: Current, shown: Mapping[str, object], known: DealDetail | None = None
) -> DealFormOptions:
    """Choices for the deal form: members, and the company and contacts `shown` as chosen
    (their pickers search the rest on the server, app/search). `known`: the deal as read in
    this transaction, whose company and contacts' names are used when they are the ones
    shown (its edit form, as stored), instead of reading them again."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        company_ids = form.chosen_ids(shown.get("company_id"))
        contact_ids = form.chosen_ids(shown.get("contact_ids"))
        card = known.card if known else None
        if card is not None and company_ids == ([card.company_id] if card.company_id else []):
            companies: Choices = [(str(i), card.company_name or "") for i in company_ids]
        else:
            companies = await company_choices(conn, company_ids)
        if known is not None and contact_ids == [c.id for c in known.contacts]:
            contacts: Choices = [(str(c.id), c.name) for c in known.contacts]
        else:
            contacts = await contact_choices(conn, contact_ids)
        return DealFormOptions(
            members=[(str(p.user_id), p.name) for p in await members()],
            companies=companies,
            contacts=contacts,
        )


# (pipeline name, its stages) in board order: immutable, so the picker's markup can be kept
StageGroups = tuple[tuple[str, tuple[StageChoice, ...]], ...]


async def stage_groups(current: Current) -> StageGroups:
    """The deal form's stage picker: (pipeline name, its stages) in board order."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        stages = await stage_choices(conn)
    groups: dict[UUID, tuple[str, list[StageChoice]]] = {}  # by id: names may repeat
    for stage in stages:
        groups.setdefault(stage.pipeline_id, (stage.pipeline_name, []))[1].append(stage)
    return tuple((name, tuple(group)) for name, group in groups.values())
