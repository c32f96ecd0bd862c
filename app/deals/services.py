"""Deal actions: create, edit, delete (moves on the board are in moves.py, reads in reading.py)."""

from __future__ import annotations

import uuid
from uuid import UUID

import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.accounts.tables import Membership, User
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.money import money
from app.core.rows import struct_as
from app.core.versioned import update_at_version
from app.crm.activity import field_diff, log_activity, stale_page
from app.crm.custom_fields import stored_values
from app.crm.custom_values import check_custom, encoded
from app.crm.records import refuse_old_edit
from app.crm.tables import Company, Contact
from app.deals import live
from app.deals.pipelines import ensure_default_in
from app.deals.positions import end_position
from app.deals.schemas import CHOOSE_STAGE, DealEdit, DealFields, DealForm
from app.deals.tables import Deal, DealContact, Stage
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


class DealValues(DealFields, frozen=True, kw_only=True):
    """A deal form checked against the tenant's records: what create and edit store."""

    contact_ids: list[UUID]

    def columns(self) -> dict[str, object]:
        """The values stored on the deal's row, by column (its contacts are links, apart)."""
        stored = msgspec.structs.asdict(self)
        del stored["contact_ids"]
        return stored


async def _clean(data: DealForm) -> DealValues:
    """Check a deal form (already read by DealForm) against the current tenant's records."""
    errors: dict[str, str] = {}
    lost_reason = data.lost_reason or None
    stage = await Stage.objects().where(Stage.id == data.stage_id).first()
    if stage is None:
        errors["stage_id"] = CHOOSE_STAGE
    else:
        if stage.kind == "lost" and not lost_reason:
            errors["lost_reason"] = LOST_REASON_NEEDED
        if stage.kind != "lost":
            lost_reason = None
    if data.owner_id is not None and not await Membership.exists().where(
        Membership.user_id == data.owner_id
    ):
        errors["owner_id"] = "Choose an owner from your team."
    if data.company_id is not None and not await Company.exists().where(
        Company.id == data.company_id
    ):
        errors["company_id"] = "Choose a company from the list."
    if data.contact_ids:
        found = await Contact.count().where(Contact.id.is_in(data.contact_ids))
        if found != len(data.contact_ids):
            errors["contact_ids"] = "Choose contacts from the list."
    if errors or stage is None:
        raise FormInvalid(errors)
    return struct_as(
        DealValues, data, pipeline_id=stage.pipeline_id, stage_id=stage.id, lost_reason=lost_reason
    )


async def _name_of(table: type[Stage | User | Company], row_id: UUID) -> str | None:
    row = await table.select(table.name).where(table.id == row_id).first()
    return None if row is None else str(row["name"])


async def _as_read(values: dict[str, object]) -> dict[str, object]:
    """A deal's fields as people read them (names instead of ids), for an edit conflict."""
    names: dict[str, type[Stage | User | Company]] = {
        "stage_id": Stage,
        "owner_id": User,
        "company_id": Company,
    }
    out = dict(values)
    for field, table in names.items():
        found = out.get(field)
        if isinstance(found, UUID):
            out[field] = await _name_of(table, found)
    return out


async def _set_contacts(tenant_id: UUID, deal_id: UUID, contact_ids: list[UUID]) -> None:
    of_deal = DealContact.deal_id == deal_id
    if contact_ids:
        await DealContact.delete().where(of_deal & DealContact.contact_id.not_in(contact_ids))
    else:
        await DealContact.delete().where(of_deal)
    if not contact_ids:
        return
    await DealContact.insert(
        *(
            DealContact(id=uuid.uuid4(), tenant_id=tenant_id, deal_id=deal_id, contact_id=c)
            for c in contact_ids
        )
    ).on_conflict(
        target=(DealContact.tenant_id, DealContact.deal_id, DealContact.contact_id),
        action="DO NOTHING",
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
        values = await _clean(data)
        custom = await check_custom(current.tenant_id, "deal", data.custom, None)
        await Deal.insert(
            Deal.from_dict(
                {
                    "id": deal_id,
                    "tenant_id": current.tenant_id,
                    "position": await end_position(conn, values.stage_id),
                    "custom_values": encoded(custom.values),
                    **values.columns(),
                }
            )
        )
        await _set_contacts(current.tenant_id, deal_id, values.contact_ids)
        summary = f"Created the deal “{values.title}” ({money(values.amount, values.currency)})"
        await log_activity(current, "deal", deal_id, "created", summary, custom.changes)
        await _notify_owner(current, deal_id, values.title, values.owner_id)
        _push_changed(current.tenant_id, deal_id, True, [])
    return deal_id


async def update_deal(current: Current, deal_id: UUID, data: DealEdit) -> None:
    """Save an edit made from version `data.version`; EditConflict when someone changed the
    deal since the form was opened (a board move counts)."""
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        before = await Deal.objects().where(Deal.id == deal_id).lock_rows("UPDATE").first()
        if before is None:
            raise RecordNotFound("deal")
        stored = before.to_dict()
        values = await _clean(data)
        wanted = msgspec.structs.asdict(values)
        await refuse_old_edit("deal", deal_id, stored, wanted, DIFF_FIELDS, data.version, _as_read)
        was = stored_values(stored.get("custom_values"))
        custom = await check_custom(current.tenant_id, "deal", data.custom, was)
        position = before.position
        if values.stage_id != before.stage_id:
            position = await end_position(conn, values.stage_id)
        saving = {**values.columns(), "position": position, "updated_at": QueryString("now()")}
        saving["custom_values"] = encoded(custom.values)
        # the row lock makes a miss unreachable; never say "saved" all the same
        if await update_at_version(Deal, deal_id, data.version, saving) is None:
            raise RecordNotFound("deal")
        await _set_contacts(current.tenant_id, deal_id, values.contact_ids)
        changes = field_diff(stored, wanted, DIFF_FIELDS) | custom.changes
        if changes:
            edited = f"Edited the deal “{values.title}”"
            await log_activity(current, "deal", deal_id, "updated", edited, changes)
        if values.owner_id != before.owner_id:
            await _notify_owner(current, deal_id, values.title, values.owner_id)
        _push_changed(current.tenant_id, deal_id, False, [before.stage_id])


async def delete_deal(current: Current, deal_id: UUID, version: int) -> str:
    """Delete a deal (its contacts links go with it) if it is still at the `version` the page
    showed (else EditConflict: confirm again); returns its title."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        deleted = await (
            Deal.delete()
            .where((Deal.id == deal_id) & (Deal.version == version))
            .returning(Deal.title, Deal.pipeline_id, Deal.stage_id)
        )
        if not deleted:
            now = await Deal.select(Deal.version).where(Deal.id == deal_id).first()
            if now is None:
                raise RecordNotFound("deal")
            raise await stale_page("deal", deal_id, "deal", int(now["version"]))
        row = deleted[0]
        title = str(row["title"])
        await log_activity(current, "deal", deal_id, "deleted", f"Deleted the deal “{title}”")
        tenant_id, pipeline_id, stage_id = current.tenant_id, row["pipeline_id"], row["stage_id"]

        async def push() -> None:
            await live.deal_deleted(tenant_id, deal_id, pipeline_id, stage_id)

        live.push_after_commit(push)
    return title
