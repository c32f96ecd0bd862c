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
from app.crm.schemas import CompanyEdit, CompanyForm

DUPLICATE_MESSAGE = "This looks like a company you already have."


class NewCompany(CompanyForm):
    """The new-company form: "Create anyway" sends create_anyway after the duplicate warning."""

    create_anyway: Annotated[bool, Flag("create anyway")] = False


class EditedCompany(CompanyEdit, kw_only=True):
    """The edit form: "Save anyway" sends create_anyway after the duplicate warning."""

    create_anyway: Annotated[bool, Flag("save anyway")] = False


class CompanyMatch(msgspec.Struct, frozen=True):
    """An existing company a new one probably repeats."""

    id: UUID
    name: str
    domain: str | None

    @property
    def detail(self) -> str | None:
        return self.domain


MATCHING = (
    "select id, name, domain from companies where tenant_id = $1"
    " and (name_key = company_name_key($2) or domain_key = company_domain_key($3))"
    " order by sort_name, id limit $4"
)


async def matching_companies(
    conn: asyncpg.Connection, tenant_id: UUID, name: str, domain: str | None
) -> list[CompanyMatch]:
    """The workspace's companies with the name's or the domain's key."""
    return await fetch_as(
        conn,
        CompanyMatch,
        MATCHING,
        tenant_id,
        name,
        domain or "",
        MATCHES_SHOWN,
    )


class CountedPair(Pair, frozen=True):
    total: int  # how many pairs there are in all


# an edited company's new twins: only for a key the edit changes (an edit of the industry
# doesn't warn again of a twin the company already had)
EDIT_MATCHING = (
    "select m.id, m.name, m.domain from companies c join companies m"
    " on m.tenant_id = c.tenant_id and m.id <> c.id and ("
    " (m.name_key = company_name_key($2) and c.name_key is distinct from company_name_key($2))"
    " or (m.domain_key = company_domain_key($3)"
    " and c.domain_key is distinct from company_domain_key($3)))"
    " where c.id = $1 order by m.sort_name, m.id limit $4"
)


# the pairs sharing a key: the keys more than one company has (a scan of the key index,
# grouped), their companies (looked up by key), paired
_PAIRS = (
    "with twin_names as (select name_key from companies where tenant_id = $1"
    " and name_key is not null group by name_key having count(*) > 1),"
    " twin_domains as (select domain_key from companies where tenant_id = $1"
    " and domain_key is not null group by domain_key having count(*) > 1),"
    " keys as (select c.id, 'name' as reason, c.name_key as k from companies c"
    " join twin_names t on c.name_key = t.name_key where c.tenant_id = $1"
    " union all select c.id, 'domain', c.domain_key from companies c"
    " join twin_domains t on c.domain_key = t.domain_key where c.tenant_id = $1),"
    " pairs as (select a.id as first_id, b.id as second_id, min(a.reason) as reason"
    " from keys a join keys b on a.reason = b.reason and a.k = b.k and a.id < b.id"
    " group by a.id, b.id)"
)
_PAIRS_PAGE = (
    _PAIRS + " select p.first_id, a.name as first_name, p.second_id, b.name as second_name,"
    " p.reason, count(*) over () as total from pairs p join companies a on a.id = p.first_id"
    " join companies b on b.id = p.second_id"
    " order by a.sort_name, p.first_id, p.second_id limit $2 offset $3"
)


async def pairs_page(current: Current, page: int) -> tuple[list[Pair], int]:
    """The `page`th page of likely pairs (by the first one's name), and how many there are."""
    offset = (page - 1) * PAGE_SIZE
    async with tenant_transaction(current.tenant_id, current.user_id) as c:
        rows = await fetch_as(c, CountedPair, _PAIRS_PAGE, current.tenant_id, PAGE_SIZE, offset)
        if rows:  # each row carries the count: the pairs are found once
            total = rows[0].total
        else:  # past the last page
            total = await fetch_value(
                c, int, _PAIRS + " select count(*) from pairs", current.tenant_id
            )
    return [
        Pair(r.first_id, r.first_name, r.second_id, r.second_name, r.reason) for r in rows
    ], total


async def create_unless_duplicate(current: Current, form: NewCompany) -> UUID:
    """Create the company, unless it probably exists and "Create anyway" wasn't pressed."""
    if not form.create_anyway:
        async with tenant_transaction(current.tenant_id, current.user_id) as c:
            matches = await matching_companies(c, current.tenant_id, form.name, form.domain)
        if matches:
            raise LikelyDuplicate(matches, DUPLICATE_MESSAGE)
    return await companies.create_company(current, form)


async def update_unless_duplicate(current: Current, company_id: UUID, form: EditedCompany) -> None:
    """Save the edit, unless its new name or domain is probably another company's and "Save
    anyway" wasn't pressed."""
    if not form.create_anyway:
        async with tenant_transaction(current.tenant_id, current.user_id) as c:
            matches = await fetch_as(
                c,
                CompanyMatch,
                EDIT_MATCHING,
                company_id,
                form.name,
                form.domain or "",
                MATCHES_SHOWN,
            )
        if matches:
            raise LikelyDuplicate(matches, DUPLICATE_MESSAGE)
    await companies.update_company(current, company_id, form)
