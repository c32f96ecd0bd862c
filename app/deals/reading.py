"""Reading deals: the list (search, sort, keyset pages), the detail page, form choices."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.deals.queries import CARD_SELECT, card_from_row
from app.deals.schemas import ContactRef, DealCard, DealDetail, DealPage

SORTS: dict[str, tuple[str, str, bool]] = {
    # key: (label, SQL expression, descending)
    "newest": ("Newest first", "d.created_at", True),
    "title": ("Title A-Z", "lower(d.title)", False),
    "amount": ("Largest amount", "d.amount", True),
    "close": ("Closing soonest", "coalesce(d.expected_close_date, 'infinity'::date)", False),
}


def _encode_cursor(value: Any, deal_id: UUID) -> str:
    raw = msgspec.json.encode([str(value), str(deal_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, deal_id = msgspec.json.decode(raw, type=tuple[str, str])
        parsed: Any = value
        if sort == "newest":
            parsed = datetime.fromisoformat(value)
        elif sort == "amount":
            parsed = Decimal(value)
        elif sort == "close":
            parsed = date.max if value == "infinity" else date.fromisoformat(value)
        return parsed, UUID(deal_id)
    except (ValueError, binascii.Error, msgspec.DecodeError, ArithmeticError):
        return None


async def list_deals(
    current: Current, query: str = "", sort: str = "newest", cursor: str = "", limit: int = 50
) -> DealPage:
    """A page of deals matching `query` (title, company), in `sort` order, after `cursor`."""
    sort = sort if sort in SORTS else "newest"
    _, expr, descending = SORTS[sort]
    where: list[str] = []
    args: list[Any] = []
    query = " ".join(query.split())[:200]
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(f"%{escaped}%")
        where.append(f"(lower(d.title) like ${len(args)} or lower(c.name) like ${len(args)})")
    after = _decode_cursor(cursor, sort) if cursor else None
    if after is not None:
        value, last_id = after
        if sort == "close" and value == date.max:
            value_sql = "'infinity'::date"
        else:
            args.append(value)
            value_sql = f"${len(args)}"
        args.append(last_id)
        op = "<" if descending else ">"
        where.append(f"({expr}, d.id) {op} ({value_sql}, ${len(args)})")
    direction = " desc" if descending else ""
    sql = (
        CARD_SELECT
        + (" where " + " and ".join(where) if where else "")
        + f" order by {expr}{direction}, d.id{direction} limit {limit + 1}"
    )
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        rows = await conn.fetch(sql, *args)
    cards = [card_from_row(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = cards[-1]
        key: Any = {
            "newest": last.created_at.isoformat(),
            "title": last.title.lower(),
            "amount": last.amount,
            "close": last.expected_close_date.isoformat()
            if last.expected_close_date
            else "infinity",
        }[sort]
        next_cursor = _encode_cursor(key, last.id)
    return DealPage(deals=cards, next_cursor=next_cursor)


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
    return {
        "title": card.title,
        "amount": f"{card.amount:.2f}",
        "currency": card.currency,
        "stage_id": str(card.stage_id),
        "expected_close_date": card.expected_close_date.isoformat()
        if card.expected_close_date
        else "",
        "owner_id": str(card.owner_id or ""),
        "company_id": str(card.company_id or ""),
        "contact_ids": [str(c.id) for c in detail.contacts],
        "lost_reason": card.lost_reason or "",
        "version": str(card.version),
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
