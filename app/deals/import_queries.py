"""The deals import's SQL (app/deals/imports.py): the workspace's members, companies
and contacts looked up a batch at a time, deals already there, and the batch insert with
unnest(). Call inside the import batch's tenant transaction; every query names the tenant."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid4

import asyncpg
import msgspec

from app.crm.import_queries import OLDEST_CONTACT_BY_EMAIL_KEY, insert_batch
from app.deals.positions import POSITION_GAP
from app.deals.schemas import DealFields


class NewDeal(DealFields, frozen=True, kw_only=True):
    """A deal of an import batch, resolved to the workspace's records (`position`: at the end
    of its stage, set when it is stored)."""

    id: UUID
    contact_id: UUID | None  # linked apart, in deal_contacts
    position: float = 0.0


class DealContactLink(msgspec.Struct, frozen=True):
    """A new deal's contact (a row of deal_contacts)."""

    id: UUID
    deal_id: UUID
    contact_id: UUID


class Lookup(StrEnum):
    """The workspace's records by a key an import row names: each member is the SQL selecting
    `key, id` for the workspace ($1) among the keys ($2); a later row of a key wins."""

    # a member by lower-cased email (memberships have a second policy: the tenant is named, so
    # another workspace's member never matches)
    MEMBER_BY_EMAIL = (
        "select lower(u.email) as key, u.id from memberships m join users u on u.id = m.user_id"
        " where m.tenant_id = $1 and lower(u.email) = any($2::text[])"
    )
    # the oldest company with each domain
    COMPANY_BY_DOMAIN = (
        "select distinct on (lower(domain)) lower(domain) as key, id from companies"
        " where tenant_id = $1 and lower(domain) = any($2::text[])"
        " order by lower(domain), created_at"
    )
    # the oldest contact having each email, by blind index
    CONTACT_BY_EMAIL_INDEX = OLDEST_CONTACT_BY_EMAIL_KEY
    # the oldest contact of each lower-cased full name ("first last")
    CONTACT_BY_NAME = (
        "select distinct on (key) key, id from ("
        " select lower(trim(first_name || ' ' || last_name)) as key, id, created_at"
        " from contacts where tenant_id = $1) named"
        " where key = any($2::text[]) order by key, created_at"
    )


async def ids_by_key(
    conn: asyncpg.Connection, lookup: Lookup, tenant_id: UUID, keys: list[str]
) -> dict[str, UUID]:
    """{key: id} of the workspace's records `lookup` finds among `keys`."""
    rows = await conn.fetch(lookup.value, tenant_id, keys)
    return {r["key"]: r["id"] for r in rows}


async def known_deals(
    conn: asyncpg.Connection, tenant_id: UUID, lowered_titles: list[str]
) -> set[tuple[str, UUID | None]]:
    """(lower-cased title, company id) of the workspace's deals with one of these titles."""
    rows = await conn.fetch(
        "select lower(title) as key, company_id from deals"
        " where tenant_id = $1 and lower(title) = any($2::text[])",
        tenant_id,
        lowered_titles,
    )
    return {(r["key"], r["company_id"]) for r in rows}


async def stage_ends(conn: asyncpg.Connection, stage_ids: list[UUID]) -> dict[UUID, float]:
    """The position below each stage's last card (POSITION_GAP for an empty stage)."""
    rows = await conn.fetch(
        "select stage_id, max(position) as top from deals where stage_id = any($1::uuid[])"
        " group by stage_id",
        stage_ids,
    )
    ends = dict.fromkeys(stage_ids, 0.0)
    ends.update({r["stage_id"]: float(r["top"]) for r in rows})
    return {stage: top + POSITION_GAP for stage, top in ends.items()}


async def insert_deals(conn: asyncpg.Connection, tenant_id: UUID, rows: list[NewDeal]) -> None:
    """A batch of deals in one statement, and their contact links in another."""
    fixed = {"tenant_id": tenant_id}
    await insert_batch(conn, "deals", fixed, rows, leave_out={"contact_id"})
    links = [DealContactLink(uuid4(), r.id, r.contact_id) for r in rows if r.contact_id is not None]
    await insert_batch(conn, "deal_contacts", fixed, links)
