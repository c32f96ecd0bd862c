"""Deal actions: create, edit, delete (moves on the board are in moves.py, reads in reading.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.crm.activity import field_diff, record_activity
from app.deals import live
from app.deals.money import clean_amount, clean_currency, format_amount
from app.deals.pipelines import _ensure_default
from app.notifications.services import notify

MAX_CONTACTS = 50
POSITION_GAP = 1024.0
LOST_REASON_NEEDED = "Say why the deal was lost before moving it to a lost stage."
DIFF_FIELDS = (
    "title",
    "amount",
    "currency",
    "stage_id",
    "expected_close_date",
    "owner_id",
    "company_id",
    "lost_reason",
)


class DealInput(msgspec.Struct, kw_only=True):
    """A submitted deal form, as strings (contacts as a list of ids)."""

    title: str = ""
    amount: str = ""
    currency: str = "EUR"
    stage_id: str = ""
    expected_close_date: str = ""
    owner_id: str = ""
    company_id: str = ""
    contact_ids: list[str] = msgspec.field(default_factory=list)
    lost_reason: str = ""
    version: str = ""


def _uuid(raw: str, field: str, errors: dict[str, str], message: str) -> UUID | None:
    if not raw.strip():
        return None
    try:
        return UUID(raw.strip())
    except ValueError:
        errors[field] = message
        return None


def _clean_text(raw: str, field: str, label: str, limit: int, errors: dict[str, str]) -> str:
    text = raw.strip()
    if "\x00" in text:
        errors[field] = f"{label} contains characters we can't store."
    elif len(text) > limit:
        errors[field] = f"{label} can be at most {limit} characters (this one has {len(text)})."
    return text


def _clean_date(raw: str, errors: dict[str, str]) -> date | None:
    if not raw.strip():
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        errors["expected_close_date"] = "Enter a date like 2026-12-31."
        return None
    if not 2000 <= value.year <= 2100:
        errors["expected_close_date"] = "Enter a date between the years 2000 and 2100."
        return None
    return value


async def _clean(conn: asyncpg.Connection, data: DealInput) -> dict[str, Any]:
    """Validate a deal form against the rules and the current tenant's records."""
    errors: dict[str, str] = {}
    title = " ".join(_clean_text(data.title, "title", "The title", 200, errors).split())
    if not title and "title" not in errors:
        errors["title"] = "Give the deal a title."
    values: dict[str, Any] = {
        "title": title,
        "amount": clean_amount(data.amount, errors),
        "currency": clean_currency(data.currency, errors),
        "expected_close_date": _clean_date(data.expected_close_date, errors),
        "lost_reason": _clean_text(data.lost_reason, "lost_reason", "The reason", 1000, errors)
        or None,
    }
    stage_id = _uuid(data.stage_id, "stage_id", errors, "Choose a stage from the list.")
    stage = None
    if stage_id is not None:
        stage = await conn.fetchrow("select * from stages where id = $1", stage_id)
    if stage is None and "stage_id" not in errors:
        errors["stage_id"] = "Choose a stage from the list."
    elif stage is not None:
        values["stage_id"] = stage["id"]
        values["pipeline_id"] = stage["pipeline_id"]
        if stage["kind"] == "lost" and not values["lost_reason"] and "lost_reason" not in errors:
            errors["lost_reason"] = LOST_REASON_NEEDED
        if stage["kind"] != "lost":
            values["lost_reason"] = None
    owner_id = _uuid(data.owner_id, "owner_id", errors, "Choose an owner from your team.")
    if owner_id is not None and not await conn.fetchval(
        "select 1 from memberships where user_id = $1", owner_id
    ):
        errors["owner_id"] = "Choose an owner from your team."
    values["owner_id"] = owner_id
    company_id = _uuid(data.company_id, "company_id", errors, "Choose a company from the list.")
    if company_id is not None and not await conn.fetchval(
        "select 1 from companies where id = $1", company_id
    ):
        errors["company_id"] = "Choose a company from the list."
    values["company_id"] = company_id
    contact_ids: list[UUID] = []
    for raw in dict.fromkeys(c for c in data.contact_ids if c.strip()):
        contact_id = _uuid(raw, "contact_ids", errors, "Choose contacts from the list.")
        if contact_id is not None:
            contact_ids.append(contact_id)
    if len(contact_ids) > MAX_CONTACTS:
        errors["contact_ids"] = f"A deal can have at most {MAX_CONTACTS} contacts."
    elif contact_ids:
        found = await conn.fetchval(
            "select count(*) from contacts where id = any($1::uuid[])", contact_ids
        )
        if found != len(contact_ids):
            errors["contact_ids"] = "Choose contacts from the list."
    values["contact_ids"] = contact_ids
    if errors:
        raise FormInvalid(errors)
    return values


async def _set_contacts(
    conn: asyncpg.Connection, tenant_id: UUID, deal_id: UUID, contact_ids: list[UUID]
) -> None:
    await conn.execute(
        "delete from deal_contacts where deal_id = $1 and not (contact_id = any($2::uuid[]))",
        deal_id,
        contact_ids,
    )
    await conn.executemany(
        "insert into deal_contacts (id, tenant_id, deal_id, contact_id) values ($1, $2, $3, $4)"
        " on conflict (tenant_id, deal_id, contact_id) do nothing",
        [(uuid.uuid4(), tenant_id, deal_id, c) for c in contact_ids],
    )


async def _notify_owner(current: Current, deal_id: UUID, title: str, owner_id: UUID | None) -> None:
    """Tell a colleague a deal was assigned to them (not when people assign themselves)."""
    if owner_id is None or owner_id == current.user_id:
        return
    await notify(
        current.tenant_id,
        owner_id,
        "deal_assigned",
        f"{current.name} assigned you the deal “{title}”",
        link=f"/deals/{deal_id}",
    )


def _push_changed(tenant_id: UUID, deal_id: UUID, created: bool, stage_ids: list[UUID]) -> None:
    async def push() -> None:
        await live.deal_changed(tenant_id, deal_id, created=created, stage_ids=stage_ids)

    live.push_after_commit(push)


async def _end_position(conn: asyncpg.Connection, stage_id: UUID) -> float:
    top = await conn.fetchval("select max(position) from deals where stage_id = $1", stage_id)
    return float(top) + POSITION_GAP if top is not None else POSITION_GAP


async def create_deal(current: Current, data: DealInput) -> UUID:
    """Create a deal at the bottom of its stage; viewers of the board and lists see it live."""
    deal_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await _ensure_default(conn, current.tenant_id)
        values = await _clean(conn, data)
        await conn.execute(
            "insert into deals (id, tenant_id, title, amount, currency, pipeline_id, stage_id,"
            " position, expected_close_date, owner_id, company_id, lost_reason)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            deal_id,
            current.tenant_id,
            values["title"],
            values["amount"],
            values["currency"],
            values["pipeline_id"],
            values["stage_id"],
            await _end_position(conn, values["stage_id"]),
            values["expected_close_date"],
            values["owner_id"],
            values["company_id"],
            values["lost_reason"],
        )
        await _set_contacts(conn, current.tenant_id, deal_id, values["contact_ids"])
        await record_activity(
            current.tenant_id,
            current.user_id,
            "deal",
            deal_id,
            "created",
            f"Created the deal “{values['title']}” "
            f"({format_amount(values['amount'], values['currency'])})",
        )
        await _notify_owner(current, deal_id, values["title"], values["owner_id"])
        _push_changed(current.tenant_id, deal_id, True, [])
    return deal_id


async def update_deal(current: Current, deal_id: UUID, data: DealInput) -> None:
    """Save an edit; refused when someone changed the deal since the form was opened."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        before = await conn.fetchrow("select * from deals where id = $1 for update", deal_id)
        if before is None:
            raise RecordNotFound("deal")
        values = await _clean(conn, data)
        if data.version.strip() and data.version.strip() != str(before["version"]):
            raise FormInvalid(
                {
                    "form": "Someone else changed this deal while you were editing it. "
                    "Reload the page to see their changes, then edit again."
                }
            )
        position = before["position"]
        if values["stage_id"] != before["stage_id"]:
            position = await _end_position(conn, values["stage_id"])
        await conn.execute(
            "update deals set title = $2, amount = $3, currency = $4, pipeline_id = $5,"
            " stage_id = $6, position = $7, expected_close_date = $8, owner_id = $9,"
            " company_id = $10, lost_reason = $11, version = version + 1, updated_at = now()"
            " where id = $1",
            deal_id,
            values["title"],
            values["amount"],
            values["currency"],
            values["pipeline_id"],
            values["stage_id"],
            position,
            values["expected_close_date"],
            values["owner_id"],
            values["company_id"],
            values["lost_reason"],
        )
        await _set_contacts(conn, current.tenant_id, deal_id, values["contact_ids"])
        changes = field_diff(dict(before), values, DIFF_FIELDS)
        if changes:
            await record_activity(
                current.tenant_id,
                current.user_id,
                "deal",
                deal_id,
                "updated",
                f"Edited the deal “{values['title']}”",
                changes,
            )
        if values["owner_id"] != before["owner_id"]:
            await _notify_owner(current, deal_id, values["title"], values["owner_id"])
        _push_changed(current.tenant_id, deal_id, False, [before["stage_id"]])


async def delete_deal(current: Current, deal_id: UUID) -> str:
    """Delete a deal (its contacts links go with it); returns its title."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow(
            "delete from deals where id = $1 returning title, pipeline_id, stage_id", deal_id
        )
        if row is None:
            raise RecordNotFound("deal")
        await record_activity(
            current.tenant_id,
            current.user_id,
            "deal",
            deal_id,
            "deleted",
            f"Deleted the deal “{row['title']}”",
        )
        tenant_id, pipeline_id, stage_id = current.tenant_id, row["pipeline_id"], row["stage_id"]

        async def push() -> None:
            await live.deal_deleted(tenant_id, deal_id, pipeline_id, stage_id)

        live.push_after_commit(push)
    return str(row["title"])
