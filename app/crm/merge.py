"""Merging two contacts: the survivor keeps, field by field, the value chosen (emails, phones
and tags are unioned), and takes over everything of the other (notes, activities and their
participants, deal links, attachments, timeline); the other is deleted. One transaction, on
both records' versions as the merge page showed them (moved on since: EditConflict).

Deal links and attachments belong to later domains (deals, attachments): they are moved by SQL
here, not through those domains' code, as crm comes first in the layers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.forms import Choice, Form, Ref, Version
from app.crm import records
from app.crm.activity import log_activity, stale_page
from app.crm.common import readable
from app.crm.contacts import STORED_COLUMNS, full_name
from app.crm.secure import open_contact, seal_contact
from app.crm.tables import Contact

KEEP = ("this", "other")
CHOSEN = ("first_name", "last_name", "title", "company_id", "owner_id")  # one value kept
UNIONED = ("emails", "phones", "tags")
SAME_CONTACT = "Choose another contact to merge: a contact can't be merged into itself."
UNKNOWN_OTHER = "Choose the contact to merge into this one."
RETRY = "merge them again if they are still the same person"
MERGED_AWAY = "merged into another contact"


class MergeQuery(Form):
    """`/contacts/{id}/merge?other=…`: the contact to merge into this one (none: pick one)."""

    other: Annotated[UUID | None, Ref(UNKNOWN_OTHER)] = None


def _keep(label: str) -> Any:
    return Choice(label, KEEP)


class MergeForm(Form, kw_only=True):
    """The merge page's choices: the other contact, both versions shown, and per field whose
    value stays ("this": the survivor's, "other": the merged contact's)."""

    other_id: Annotated[UUID | None, Ref(UNKNOWN_OTHER, required=True)] = None
    version: Annotated[int, Version()]
    other_version: Annotated[int, Version()]
    first_name: Annotated[str, _keep("whose first name stays")] = "this"
    last_name: Annotated[str, _keep("whose last name stays")] = "this"
    title: Annotated[str, _keep("whose job title stays")] = "this"
    company_id: Annotated[str, _keep("whose company stays")] = "this"
    owner_id: Annotated[str, _keep("whose owner stays")] = "this"


def union(first: list[str], second: list[str]) -> list[str]:
    """Both lists' values, the first's order first, each once (case-insensitively)."""
    seen: set[str] = set()
    out: list[str] = []
    for value in [*first, *second]:
        if value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def merged_values(this: dict[str, Any], other: dict[str, Any], form: MergeForm) -> dict[str, Any]:
    """The survivor's fields after the merge."""
    data = {f: (other if getattr(form, f) == "other" else this)[f] for f in CHOSEN}
    for f in UNIONED:
        data[f] = union(list(this[f] or []), list(other[f] or []))
    return data


async def merge_pair(
    current: Current, survivor_id: UUID, other_id: UUID | None
) -> dict[str, Any] | None:
    """Both contacts as the merge page shows them (None: no other chosen); RecordNotFound
    when either isn't there (or is another workspace's)."""
    wanted = [survivor_id] if other_id is None else [survivor_id, other_id]
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = await Contact.select().where(Contact.id.is_in(wanted))
        found = {row["id"]: await readable(open_contact(row)) for row in rows}
    this = found.get(survivor_id)
    if this is None:
        raise RecordNotFound("contact")
    if other_id is None:
        return None
    if other_id == survivor_id:
        raise FormInvalid({"other_id": SAME_CONTACT})
    other = found.get(other_id)
    if other is None:
        raise RecordNotFound("contact")
    return {"this": this, "other": other}


async def _move(conn: asyncpg.Connection, keep: UUID, gone: UUID) -> None:
    """Everything of `gone` becomes `keep`'s (the search_grams triggers follow the rows)."""
    for table in ("notes", "tasks", "attachments"):
        await conn.execute(
            f"update {table} set subject_id = $1"  # a fixed table name
            " where subject_type = 'contact' and subject_id = $2",
            keep,
            gone,
        )
    await conn.execute(
        "update tasks set participant_ids = array(select distinct p from"
        " unnest(array_replace(participant_ids, $2, $1)) as p), updated_at = now()"
        " where $2 = any(participant_ids)",
        keep,
        gone,
    )
    await conn.execute(
        "update deal_contacts d set contact_id = $1 where contact_id = $2 and not exists"
        " (select 1 from deal_contacts k where k.deal_id = d.deal_id and k.contact_id = $1)",
        keep,
        gone,
    )
    await conn.execute("delete from deal_contacts where contact_id = $1", gone)
    # the timeline is append-only: its entries are copied to the survivor (erasing it blanks
    # them there) and the originals keep only that they were merged away
    await conn.execute(
        "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
        " summary, changes, created_at)"
        " select gen_random_uuid(), tenant_id, subject_type, $1, actor_id, action, summary,"
        " changes, created_at from activities where subject_type = 'contact'"
        " and subject_id = $2",
        keep,
        gone,
    )
    await conn.execute(
        "update activities set summary = $2, changes = '{}'"
        " where subject_type = 'contact' and subject_id = $1",
        gone,
        MERGED_AWAY,
    )


async def merge_contacts(current: Current, survivor_id: UUID, form: MergeForm) -> str:
    """Merge `form.other_id` into the survivor; returns the merged contact's name."""
    other_id = form.other_id
    if other_id is None or other_id == survivor_id:
        raise FormInvalid({"other_id": SAME_CONTACT if other_id else UNKNOWN_OTHER})
    async with tenant_transaction(current.tenant_id, current.user_id) as conn:
        # locked in id order: two merges of the same pair can't deadlock
        first, second = sorted([survivor_id, other_id])
        locked = {
            first: await records.locked_row(Contact, "contact", first),
            second: await records.locked_row(Contact, "contact", second),
        }
        this, other = open_contact(locked[survivor_id]), open_contact(locked[other_id])
        for contact, shown in ((this, form.version), (other, form.other_version)):
            if contact["version"] != shown:
                raise await stale_page("contact", contact["id"], "contact", this["version"], RETRY)
        data = merged_values(this, other, form)
        await _move(conn, survivor_id, other_id)
        await Contact.delete().where(Contact.id == other_id)
        sealed = seal_contact(data["emails"], data["phones"], current.tenant_id, survivor_id)
        values = [
            data["first_name"],
            data["last_name"],
            *sealed,
            data["title"],
            data["company_id"],
            data["owner_id"],
            data["tags"],
        ]
        await records.save_edit(
            Contact, "contact", survivor_id, form.version, STORED_COLUMNS, values
        )
        name = full_name(other) or "a contact"
        changes = {"merged_id": {"from": None, "to": str(other_id)}}
        await log_activity(
            current, "contact", survivor_id, "merged", f"merged {name} into this contact", changes
        )
    return name
