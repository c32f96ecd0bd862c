"""Where the deals domain keeps data: pipelines and stages (none personal), deals, their people.

deals.csv names the pipeline, stage, company, owner and contacts beside the deal; stages.csv
lists every pipeline's stages in order.
"""

from __future__ import annotations

from app.core.datamap import (
    ContactRef,
    col,
    register,
    tenant_table,
    utc,
    workspace_record,
)
from app.core.datamap import ExportFile as File
from app.core.db import tenant_transaction
from app.deals.tables import DealContact

OWNER = "deals"
RETENTION = "until deleted by the workspace, or with it"

DEALS_FILE = File(
    "deals.csv",
    "Deals with their pipeline, stage, company, owner and people.",
    'select d.title as "Title", d.amount as "Amount", d.currency as "Currency",'
    ' p.name as "Pipeline", s.name as "Stage", s.kind as "Outcome", co.name as "Company",'
    " u.name as \"Owner\", (select string_agg(trim(ct.first_name || ' ' || ct.last_name),"
    " '; ' order by ct.sort_last, ct.sort_first) from deal_contacts dc join contacts ct"
    ' on ct.id = dc.contact_id where dc.deal_id = d.id) as "Contacts",'
    ' d.expected_close_date as "Expected close", d.lost_reason as "Lost reason",'
    f' {utc("d.created_at")} as "Created (UTC)", {utc("d.updated_at")} as "Updated (UTC)",'
    ' d.id as "Deal id", d.company_id as "Company id" from deals d'
    " join pipelines p on p.id = d.pipeline_id join stages s on s.id = d.stage_id"
    " left join companies co on co.id = d.company_id left join users u on u.id = d.owner_id"
    " where {where}",
    (
        col("Title", "The deal's name."),
        col("Amount", "Its value (a plain number, two decimals)."),
        col("Currency", "ISO currency code."),
        col("Pipeline", "The pipeline it is in."),
        col("Stage", "Its stage in that pipeline."),
        col("Outcome", "open, won or lost (the stage's kind)."),
        col("Company", "The company it is with."),
        col("Owner", "The member responsible (empty: nobody, or a former member)."),
        col("Contacts", "The people on the deal, separated by '; '."),
        col("Expected close", "The expected closing date (YYYY-MM-DD)."),
        col("Lost reason", "Why it was lost."),
        col("Created (UTC)", "When it was created."),
        col("Updated (UTC)", "When it last changed."),
        col("Deal id", "Odex's identifier of the deal."),
        col("Company id", "Odex's identifier of the company."),
    ),
    own_where="d.owner_id = $1",
    order_by="p.position, s.position, d.position, d.id",
)

STAGES_FILE = File(
    "stages.csv",
    "Every pipeline's stages, in board order.",
    'select p.name as "Pipeline", p.is_default as "Default pipeline", s.position as'
    ' "Position", s.name as "Stage", s.kind as "Outcome", p.id as "Pipeline id",'
    ' s.id as "Stage id" from stages s join pipelines p on p.id = s.pipeline_id'
    " where {where}",
    (
        col("Pipeline", "The pipeline's name."),
        col("Default pipeline", "true for the pipeline new deals go to."),
        col("Position", "The stage's place on the board, left to right."),
        col("Stage", "The stage's name."),
        col("Outcome", "open, won or lost."),
        col("Pipeline id", "Odex's identifier of the pipeline."),
        col("Stage id", "Odex's identifier of the stage."),
    ),
    own_where=None,
    order_by="p.position, p.id, s.position, s.id",
)


async def _erase_links(contact: ContactRef) -> int:
    async with tenant_transaction(contact.tenant_id):
        gone = await (
            DealContact.delete()
            .where(DealContact.contact_id == contact.contact_id)
            .returning(DealContact.id)
        )
    return len(gone)


def _register() -> None:
    none = "no personal data: the workspace's sales process"
    for table, what in (("pipelines", none), ("stages", none)):
        register(
            workspace_record(
                table,
                OWNER,
                what,
                retention=RETENTION,
                export="stages.csv (admins)",
                exports=(STAGES_FILE,) if table == "stages" else (),
            )
        )
    register(
        tenant_table(
            "deals",
            OWNER,
            ("workspace",),
            "deal titles, amounts, the owning member, the lost reason",
            retention=RETENTION,
            access="not in My data (the workspace's record)",
            export="deals.csv (admins: all; members: the ones they own)",
            erasure="the contact's name leaves the deal's people (see deal_contacts)",
            account_deletion="the owner is cleared (with the membership)",
            user_columns=("owner_id",),
            exports=(DEALS_FILE,),
        )
    )
    register(
        tenant_table(
            "deal_contacts",
            OWNER,
            ("contact",),
            "which people are on which deal",
            retention=RETENTION,
            access="not in My data",
            export="the Contacts column of deals.csv",
            erasure="deleted",
            account_deletion="not affected",
            erase=_erase_links,
        )
    )


_register()
