"""Deal actions: create, edit, delete (moves on the board are in moves.py, reads in reading.py)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.money import money
from app.crm.activity import edit_conflict, field_diff, record_activity, stale_page
from app.deals import live
from app.deals.pipelines import ensure_default_in
from app.deals.queries import end_position
from app.deals.schemas import CHOOSE_STAGE, DealEdit, DealForm
from app.notifications.services import notify

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


async def _clean(conn: asyncpg.Connection, data: DealForm) -> dict[str, Any]:
    """Check a deal form (already read by DealForm) against the current tenant's records."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": data.title,
        "amount": data.amount,
        "currency": data.currency,
        "expected_close_date": data.expected_close_date,
        "lost_reason": data.lost_reason or None,
        "owner_id": data.owner_id,
        "company_id": data.company_id,
        "contact_ids": data.contact_ids,
    }
    stage = await conn.fetchrow("select * from stages where id = $1", data.stage_id)
    if stage is None:
        errors["stage_id"] = CHOOSE_STAGE
    else:
        values["stage_id"] = stage["id"]
        values["pipeline_id"] = stage["pipeline_id"]
        if stage["kind"] == "lost" and not values["lost_reason"]:
            errors["lost_reason"] = LOST_REASON_NEEDED
        if stage["kind"] != "lost":
            values["lost_reason"] = None
    if data.owner_id is not None and not await conn.fetchval(
        "select 1 from memberships where user_id = $1", data.owner_id
    ):
        errors["owner_id"] = "Choose an owner from your team."
    if data.company_id is not None and not await conn.fetchval(
        "select 1 from companies where id = $1", data.company_id
    ):
        errors["company_id"] = "Choose a company from the list."
    if data.contact_ids:
        found = await conn.fetchval(
            "select count(*) from contacts where id = any($1::uuid[])", data.contact_ids
        )
        if found != len(data.contact_ids):
            errors["contact_ids"] = "Choose contacts from the list."
    if errors:
        raise FormInvalid(errors)
    return values


async def _as_read(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    """A deal's fields as people read them (names instead of ids), for an edit conflict."""
    names = {
        "stage_id": "select name from stages where id = $1",
        "owner_id": "select name from users where id = $1",
        "company_id": "select name from companies where id = $1",
    }
    out = dict(values)
    for field, sql in names.items():
        if out.get(field) is not None:
            out[field] = await conn.fetchval(sql, out[field])
    return out


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


async def create_deal(current: Current, data: DealForm) -> UUID:
    """Create a deal at the bottom of its stage; viewers of the board and lists see it live."""
    deal_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        await ensure_default_in(conn, current.tenant_id)
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
            await end_position(conn, values["stage_id"]),
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
            f"Created the deal “{values['title']}” ({money(values['amount'], values['currency'])})",
        )
        await _notify_owner(current, deal_id, values["title"], values["owner_id"])
        _push_changed(current.tenant_id, deal_id, True, [])
    return deal_id


async def update_deal(current: Current, deal_id: UUID, data: DealEdit) -> None:
    """Save an edit made from version `data.version`; EditConflict when someone changed the
    deal since the form was opened (a board move counts)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        before = await conn.fetchrow("select * from deals where id = $1 for update", deal_id)
        if before is None:
            raise RecordNotFound("deal")
        values = await _clean(conn, data)
        if data.version != before["version"]:
            raise await edit_conflict(
                "deal",
                deal_id,
                "deal",
                await _as_read(conn, dict(before)),
                await _as_read(conn, values),
                DIFF_FIELDS,
                before["version"],
            )
        position = before["position"]
        if values["stage_id"] != before["stage_id"]:
            position = await end_position(conn, values["stage_id"])
        saved = await conn.execute(
            "update deals set title = $3, amount = $4, currency = $5, pipeline_id = $6,"
            " stage_id = $7, position = $8, expected_close_date = $9, owner_id = $10,"
            " company_id = $11, lost_reason = $12, version = version + 1, updated_at = now()"
            " where id = $1 and version = $2",
            deal_id,
            data.version,
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
        if saved != "UPDATE 1":  # the row lock makes this unreachable; never say "saved"
            raise RecordNotFound("deal")
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


async def delete_deal(current: Current, deal_id: UUID, version: int) -> str:
    """Delete a deal (its contacts links go with it) if it is still at the `version` the page
    showed (else EditConflict: confirm again); returns its title."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        row = await conn.fetchrow(
            "delete from deals where id = $1 and version = $2"
            " returning title, pipeline_id, stage_id",
            deal_id,
            version,
        )
        if row is None:
            now = await conn.fetchval("select version from deals where id = $1", deal_id)
            if now is None:
                raise RecordNotFound("deal")
            raise await stale_page("deal", deal_id, "deal", now)
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
