"""Reading deals: the list (search, sort, keyset pages), the detail page, form choices."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.forms import values as form
from app.core.paging import Params, SortSpec, keyset_page, like_pattern
from app.deals.queries import CARD_SELECT, card_from_row
from app.deals.schemas import ContactRef, DealCard, DealDetail, DealPage

SORTS: dict[str, SortSpec] = {
    "newest": SortSpec("Newest first", ("d.created_at", "d.id"), ("ts", "uuid"), True),
    "title": SortSpec("Title A-Z", ("lower(d.title)", "d.id"), ("text", "uuid")),
    "amount": SortSpec("Largest amount", ("d.amount", "d.id"), ("decimal", "uuid"), True),
    "close": SortSpec(
        "Closing soonest",
        ("coalesce(d.expected_close_date, 'infinity'::date)", "d.id"),
        ("date", "uuid"),
    ),
}


async def list_deals(
    current: Current, query: str = "", sort: str = "newest", cursor: str = "", limit: int = 50
) -> DealPage:
    """A page of deals matching `query` (title, company), in `sort` order, after `cursor`."""
    spec = SORTS.get(sort, SORTS["newest"])
    params = Params()
    where: list[str] = []
    query = " ".join(query.split())[:200]
    if query:
        pattern = params.add(like_pattern(query))
        where.append(f"(lower(d.title) like {pattern} or lower(d.company_name) like {pattern})")
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        page = await keyset_page(
            conn,
            select="d.*",
            from_sql=f"({CARD_SELECT}) d",  # the card's columns, the names the sorts use
            where=where,
            params=params,
            spec=spec,
            after=cursor or None,
            limit=limit,
        )
    return DealPage(deals=[card_from_row(r) for r in page.rows], next_cursor=page.next_cursor)


async def get_deal(current: Current, deal_id: UUID) -> DealDetail:
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow(CARD_SELECT + " where d.id = $1", deal_id)
        if row is None:
            raise RecordNotFound("deal")
        contacts = await conn.fetch(
            "select c.id, trim(c.first_name || ' ' || c.last_name) as name"
            " from deal_contacts dc join contacts c on c.id = dc.contact_id"
            " where dc.deal_id = $1 order by lower(c.last_name), lower(c.first_name)",
            deal_id,
        )
    return DealDetail(
        card=card_from_row(row),
        contacts=[ContactRef(r["id"], r["name"] or "(no name)") for r in contacts],
    )


def form_values(detail: DealDetail) -> dict[str, Any]:
    """The edit form's starting values, as the form shows them."""
    card: DealCard = detail.card
    fields = ("title", "currency", "stage_id", "expected_close_date", "owner_id", "company_id")
    return form.form_values(msgspec.structs.asdict(card), (*fields, "lost_reason", "version")) | {
        "amount": f"{card.amount:.2f}",
        "contact_ids": [str(c.id) for c in detail.contacts],
    }


async def form_options(current: Current, extra_company: str = "") -> dict[str, Any]:
    """Choices for the deal form: members, companies and contacts (the first 500 by name)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        members = await conn.fetch(
            "select u.id, u.name from memberships m join users u on u.id = m.user_id"
            " order by lower(u.name)"
        )
        companies = await conn.fetch(
            "select id, name from companies order by lower(name), id limit 500"
        )
        contacts = await conn.fetch(
            "select id, trim(first_name || ' ' || last_name) as name from contacts"
            " order by lower(last_name), lower(first_name), id limit 500"
        )
    return {
        "members": [(str(r["id"]), r["name"]) for r in members],
        "companies": [(str(r["id"]), r["name"]) for r in companies],
        "contacts": [(str(r["id"]), r["name"] or "(no name)") for r in contacts],
    }
