"""Likely duplicate companies: the ones a new company probably repeats (the same web domain, or
the same name once case, punctuation and legal forms like Ltd or GmbH are set aside), and the
workspace's likely pairs for the review list. Both keys are columns PostgreSQL keeps
(`domain_key`, `name_key`: migrations/crm/crm_2026_12_03t08_10_00_000000.py), compared with
`=` on their (tenant_id, key, id) indexes, which the app role uses under row-level security.

Companies have no phone number field, so none is compared."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.schemas import Current
from app.core.db import tenant_transaction
from app.core.forms import Flag
from app.core.rows import fetch_as, fetch_value
from app.crm import companies
from app.crm.duplicates import MATCHES_SHOWN, PAGE_SIZE, LikelyDuplicate, Pair
from app.crm.schemas import CompanyForm

DUPLICATE_MESSAGE = "This looks like a company you already have."


class NewCompany(CompanyForm):
    """The new-company form: "Create anyway" sends create_anyway after the duplicate warning."""

    create_anyway: Annotated[bool, Flag("create anyway")] = False


class CompanyMatch(msgspec.Struct, frozen=True):
    """An existing company a new one probably repeats."""

    id: UUID
    name: str
    domain: str | None

    @property
    def detail(self) -> str | None:
        return self.domain


async def matching_companies(
    conn: asyncpg.Connection, tenant_id: UUID, name: str, domain: str | None
) -> list[CompanyMatch]:
    """The workspace's companies with the name's or the domain's key."""
    return await fetch_as(
        conn,
        CompanyMatch,
        "select id, name, domain from companies where tenant_id = $1"
        " and (name_key = company_name_key($2) or domain_key = company_domain_key($3))"
        " order by sort_name, id limit $4",
        tenant_id,
        name,
        domain or "",
        MATCHES_SHOWN,
    )


# the pairs sharing a key: the index on (tenant_id, key, id) finds each one's twins
_PAIRS = (
    "with pairs as (select first_id, second_id, min(reason) as reason from ("
    " select a.id as first_id, b.id as second_id, 'domain' as reason from companies a"
    " join companies b on b.tenant_id = $1 and b.domain_key = a.domain_key and b.id > a.id"
    " where a.tenant_id = $1 and a.domain_key is not null"
    " union all"
    " select a.id, b.id, 'name' from companies a"
    " join companies b on b.tenant_id = $1 and b.name_key = a.name_key and b.id > a.id"
    " where a.tenant_id = $1 and a.name_key is not null"
    ") k group by first_id, second_id)"
)
_PAIRS_PAGE = (
    _PAIRS + " select p.first_id, a.name as first_name, p.second_id, b.name as second_name,"
    " p.reason from pairs p join companies a on a.id = p.first_id"
    " join companies b on b.id = p.second_id"
    " order by a.sort_name, p.first_id, p.second_id limit $2 offset $3"
)


async def pairs_page(current: Current, page: int) -> tuple[list[Pair], int]:
    """The `page`th page of likely pairs (by the first one's name), and how many there are."""
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        total = await fetch_value(c, int, _PAIRS + " select count(*) from pairs", current.tenant_id)
        offset = (page - 1) * PAGE_SIZE
        rows = await fetch_as(c, Pair, _PAIRS_PAGE, current.tenant_id, PAGE_SIZE, offset)
    return rows, total


async def create_unless_duplicate(current: Current, form: NewCompany) -> UUID:
    """Create the company, unless it probably exists and "Create anyway" wasn't pressed."""
    if not form.create_anyway:
        async with tenant_transaction(current.tenant_id, current.user_id) as c:
            matches = await matching_companies(c, current.tenant_id, form.name, form.domain)
        if matches:
            raise LikelyDuplicate(matches, DUPLICATE_MESSAGE)
    return await companies.create_company(current, form)
