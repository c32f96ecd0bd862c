"""Deals as a kind of CSV import (registered into the crm import machinery at start-up).

A row names its pipeline and stage, owner, company and contact; each batch looks them up in
the workspace at once: the pipeline by name (the default one when empty), the stage by name in
it (case-insensitive; the first stage when empty), the owner by a member's email, the company
by name or else by domain — created when the workspace has none (as Pipedrive does; it counts
on the plan's record limit, row by row) — and the contact by email (blind index) or full name.
Deals land at the end of their stage with a timeline entry; open boards get the batch's
columns once it commits. With "skip", a row whose title and company a deal already has (or an
earlier row of the file had) is skipped, so importing the same file again adds nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec

from app.accounts.tables import Tenant
from app.billing.limits import usage_and_plan
from app.core.forms import Amount, Day, Form, Text, parse
from app.crm import import_queries as crm_queries
from app.crm.import_custom import new_company_refusal
from app.crm.import_kinds import Batch, ImportKind, RowValues, target
from app.crm.import_rows import create_companies
from app.crm.schemas import CustomInput
from app.crm.secure import email_indexes
from app.deals import import_queries, live
from app.deals.import_queries import Lookup, ids_by_key
from app.deals.money import MAX_AMOUNT, currency_rule
from app.deals.pipelines import all_pipelines, ensure_default_in
from app.deals.positions import POSITION_GAP
from app.deals.schemas import DealTitle, PipelineInfo, StageInfo
from app.deals.stages import all_stages

LOST_REASON_NEEDED = "The stage is a lost one: say why the deal was lost (map the lost reason)."
NO_OWNER = "The owner must be the email address of a member of your workspace."
NO_CONTACT = (
    "No contact has that email address or name: import the contacts first, or leave it empty."
)


class DealRow(Form):
    """A CSV row of deals, read like the deal form (the names are looked up by the batch)."""

    title: DealTitle
    value: Annotated[Decimal, Amount("the value", MAX_AMOUNT, default=Decimal(0))] = Decimal(0)
    currency: Annotated[
        str,
        currency_rule("Write the currency as an ISO 4217 code, like EUR or USD.", required=False),
    ] = ""
    pipeline: Annotated[str, Text("the pipeline", 100)] = ""
    stage: Annotated[str, Text("the stage", 100)] = ""
    owner: Annotated[str, Text("the owner's email", 320)] = ""
    company: Annotated[str, Text("the company", 200)] = ""
    contact: Annotated[str, Text("the contact", 320)] = ""
    expected_close_date: Annotated[
        date | None,
        Day("the expected close date", first_year=2000, last_year=2100),
    ] = None
    lost_reason: Annotated[str, Text("the lost reason", 1000, multiline=True)] = ""
    custom: Annotated[dict[str, list[str]], CustomInput()] = {}


def _check(values: dict[str, str]) -> RowValues:
    row = parse(DealRow, values)
    return {"row": row, "custom": row.custom}  # custom: checked in the batch (import_custom)


def _row(data: RowValues) -> DealRow:
    row = data["row"]
    assert isinstance(row, DealRow)
    return row


def _deal(data: RowValues) -> import_queries.NewDeal:
    deal = data["deal"]
    assert isinstance(deal, import_queries.NewDeal)
    return deal


def _looks_like_domain(text: str) -> bool:
    return "." in text and " " not in text and "@" not in text


def _bare_domain(text: str) -> str:
    lowered = text.lower().removeprefix("https://").removeprefix("http://")
    return lowered.split("/")[0].removeprefix("www.")


@dataclass
class _Workspace:
    """What a batch's rows are looked up in (read once per batch)."""

    currency: str
    pipelines: dict[str, PipelineInfo]  # by lower-cased name
    default_pipeline: PipelineInfo
    stages: dict[UUID, list[StageInfo]]  # by pipeline, in board order
    owners: dict[str, UUID] = field(default_factory=dict)
    companies: dict[str, UUID] = field(default_factory=dict)  # lower name or bare domain
    contacts: dict[str, UUID] = field(default_factory=dict)  # blind index or lower name


async def _workspace(c: asyncpg.Connection, tenant_id: UUID, rows: list[DealRow]) -> _Workspace:
    await ensure_default_in(c, tenant_id)
    pipelines = await all_pipelines()
    stages: dict[UUID, list[StageInfo]] = {p.id: [] for p in pipelines}
    for stage in await all_stages():
        stages.setdefault(stage.pipeline_id, []).append(stage)
    by_name: dict[str, PipelineInfo] = {}
    for pipeline in pipelines:
        by_name.setdefault(pipeline.name.lower(), pipeline)  # the first of a name wins
    tenant = await Tenant.select(Tenant.default_currency).where(Tenant.id == tenant_id).first()
    assert tenant is not None  # the transaction's own workspace
    space = _Workspace(
        currency=str(tenant["default_currency"]),
        pipelines=by_name,
        default_pipeline=next(p for p in pipelines if p.is_default),
        stages=stages,
    )
    owners = sorted({r.owner.lower() for r in rows if r.owner})
    if owners:
        space.owners = await ids_by_key(c, Lookup.MEMBER_BY_EMAIL, tenant_id, owners)
    names = sorted({r.company.lower() for r in rows if r.company})
    if names:
        space.companies = await crm_queries.companies_by_name(c, tenant_id, names)
        domains = sorted(
            {_bare_domain(n) for n in names if n not in space.companies and _looks_like_domain(n)}
        )
        if domains:
            space.companies.update(
                await ids_by_key(c, Lookup.COMPANY_BY_DOMAIN, tenant_id, domains)
            )
    emails = sorted({r.contact for r in rows if "@" in r.contact})
    if emails:
        found = await ids_by_key(c, Lookup.CONTACT_BY_EMAIL_INDEX, tenant_id, email_indexes(emails))
        space.contacts.update(found)
    people = sorted({r.contact.lower() for r in rows if r.contact and "@" not in r.contact})
    if people:
        space.contacts.update(await ids_by_key(c, Lookup.CONTACT_BY_NAME, tenant_id, people))
    return space


def _company_key(space: _Workspace, name: str) -> UUID | None:
    lowered = name.lower()
    return space.companies.get(lowered) or space.companies.get(_bare_domain(lowered))


def _resolve(space: _Workspace, row: DealRow) -> import_queries.NewDeal | str:
    """The row as a deal of this workspace, or why it can't be one (the company, when new,
    is filled in later)."""
    pipeline = space.default_pipeline
    if row.pipeline:
        found = space.pipelines.get(row.pipeline.lower())
        if found is None:
            names = ", ".join(p.name for p in space.pipelines.values())
            return f"No pipeline has that name: use one of {names} (or leave it empty)."
        pipeline = found
    stages = space.stages.get(pipeline.id, [])
    if not stages:
        return f"The “{pipeline.name}” pipeline has no stages yet: add one on its settings page."
    stage = stages[0]
    if row.stage:
        match = [s for s in stages if s.name.lower() == row.stage.lower()]
        if not match:
            names = ", ".join(s.name for s in stages)
            return f"The “{pipeline.name}” pipeline has no stage of that name: use one of {names}."
        stage = match[0]
    if stage.kind == "lost" and not row.lost_reason:
        return LOST_REASON_NEEDED
    owner_id = None
    if row.owner:
        owner_id = space.owners.get(row.owner.lower())
        if owner_id is None:
            return NO_OWNER
    contact_id = None
    if row.contact:
        if "@" in row.contact:
            [index] = email_indexes([row.contact])
            contact_id = space.contacts.get(index)
        else:
            contact_id = space.contacts.get(row.contact.lower())
        if contact_id is None:
            return NO_CONTACT
    return import_queries.NewDeal(
        id=uuid.uuid4(),
        title=row.title,
        amount=row.value,
        currency=row.currency or space.currency,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        expected_close_date=row.expected_close_date,
        owner_id=owner_id,
        company_id=_company_key(space, row.company) if row.company else None,
        contact_id=contact_id,
        lost_reason=(row.lost_reason or None) if stage.kind == "lost" else None,
    )


async def _settle(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch, rule: str
) -> None:
    """Look the batch's rows up in the workspace: fail the rows that name what isn't there,
    skip known deals ("skip"), create the companies that are new while the plan has room."""
    if not batch.good:
        return
    rows = [_row(data) for data in batch.good]
    space = await _workspace(c, tenant_id, rows)
    usage, plan = await usage_and_plan(tenant_id)
    room = max(plan.record_limit - usage.records, 0)
    new_companies: dict[str, str] = {}  # lower name -> name as first written
    seen: set[tuple[str, UUID | str | None]] = set()
    known = await import_queries.known_deals(c, tenant_id, sorted({r.title.lower() for r in rows}))
    verdicts: list[str | bool | None] = []
    refusal = await new_company_refusal()  # companies with required fields aren't made here
    for data, row in zip(batch.good, rows, strict=True):
        deal = _resolve(space, row)
        if isinstance(deal, str):
            verdicts.append(deal)
            continue
        if isinstance(data.get("id"), UUID):  # given with its custom values (import_custom)
            deal = msgspec.structs.replace(deal, id=data["id"])
        company: UUID | str | None = deal.company_id
        if row.company and company is None:
            if refusal:
                verdicts.append(refusal)
                continue
            company = row.company.lower()  # new: created below, once
            if company not in new_companies and len(new_companies) >= room:
                verdicts.append(
                    f"The company is new, and the {plan.name} plan's limit of"
                    f" {plan.record_limit:,} contacts and companies is reached: upgrade in"
                    " Settings → Billing, or name a company you have."
                )
                continue
        key = (row.title.lower(), company)
        if rule == "skip" and (key in seen or (isinstance(company, UUID | None) and key in known)):
            verdicts.append(False)
            continue
        seen.add(key)
        if isinstance(company, str):
            new_companies.setdefault(company, row.company)
        data["deal"] = deal
        verdicts.append(None)
    batch.sift(verdicts)
    if new_companies:
        ids = await create_companies(
            c, tenant_id, user_id, batch, list(new_companies.values()), "(CSV import of deals)"
        )
        created = dict(zip(new_companies, ids, strict=True))
        for data in batch.good:
            deal, row = _deal(data), _row(data)
            if row.company and deal.company_id is None:
                data["deal"] = msgspec.structs.replace(
                    deal, company_id=created[row.company.lower()]
                )


async def _store(
    c: asyncpg.Connection, tenant_id: UUID, user_id: UUID | None, batch: Batch
) -> None:
    """Insert the batch's deals at the end of their stages; boards get the columns after
    commit (one push per pipeline per batch, not per row)."""
    deals = [_deal(data) for data in batch.good]
    ends = await import_queries.stage_ends(c, sorted({d.stage_id for d in deals}))
    placed: list[import_queries.NewDeal] = []
    for deal in deals:
        placed.append(msgspec.structs.replace(deal, position=ends[deal.stage_id]))
        ends[deal.stage_id] += POSITION_GAP
    await import_queries.insert_deals(c, tenant_id, placed)
    await crm_queries.insert_created_activities(
        c, tenant_id, user_id, "deal", [d.id for d in deals], "imported the deal (CSV import)",
        action="imported",
    )  # fmt: skip
    touched: dict[UUID, list[UUID]] = {}
    for deal in deals:
        stages = touched.setdefault(deal.pipeline_id, [])
        if deal.stage_id not in stages:
            stages.append(deal.stage_id)

    async def push() -> None:
        await live.cards_landed(tenant_id, touched)

    live.push_after_commit(push)


DEALS = ImportKind(
    name="deals",
    label="Deals",
    fields=(
        target("title", "Title", {"deal", "deal name", "deal title", "name", "opportunity"}),
        target(
            "value", "Value (amount)", {"amount", "deal value", "price", "revenue", "deal amount"}
        ),
        target(
            "currency",
            "Currency (ISO code; the workspace's when empty)",
            {"currency code", "value currency"},
        ),
        target("pipeline", "Pipeline (by name; the default when empty)", {"deal pipeline"}),
        target("stage", "Stage (by name in the pipeline)", {"deal stage", "status"}),
        target(
            "owner",
            "Owner (a member's email)",
            {"deal owner", "owner email", "assigned to", "user"},
        ),
        target(
            "company",
            "Company (by name or domain; created if new)",
            {"organization", "organisation", "organization name", "account"},
        ),
        target(
            "contact",
            "Contact (by email or full name)",
            {"person", "email", "contact email", "person name", "contact person"},
        ),
        target(
            "expected_close_date",
            "Expected close date",
            {"close date", "expected close", "closing date"},
        ),
        target("lost_reason", "Lost reason", {"reason lost", "loss reason"}),
    ),
    required=frozenset({"title"}),
    required_message="Map a column to the deal's title.",
    check_row=_check,
    store=_store,
    prepare=_settle,
    duplicates=(
        ("skip", "Skip rows whose title and company a deal already has"),
        ("create", "Import them as new deals"),
    ),
    duplicates_legend="Deals you already have (same title and company)",
    counts_records=False,  # deals aren't on the record limit; the companies they create are
    note=(
        "Companies the file names that your workspace doesn't have (by name or domain) are"
        " created. Stages are matched by name within the row's pipeline (the default pipeline"
        " when empty)."
    ),
)
