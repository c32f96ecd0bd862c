"""The code of the deals domain's data map (app/deals/datamap.toml): pipelines and stages (none
personal), deals, their people. deals.csv names the pipeline, stage, company, owner and contacts
beside the deal; stages.csv lists every pipeline's stages in order."""

from __future__ import annotations

from app.core.datamap import ContactRef, Treatments
from app.core.db import tenant_transaction
from app.deals.tables import DealContact


async def _erase_links(contact: ContactRef) -> int:
    async with tenant_transaction(contact.tenant_id):
        gone = await (
            DealContact.delete()
            .where(DealContact.contact_id == contact.contact_id)
            .returning(DealContact.id)
        )
    return len(gone)


TREATMENTS = Treatments(erase=[_erase_links])
