"""The code of the attachments domain's data map (app/attachments/datamap.toml): the
attachments table and the encrypted files under ``attachments/<tenant id>/`` in the data dir."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.attachments import queries, services, store
from app.core.crypto import all_tenant_ids
from app.core.datamap import ContactRef, Subject, Treatments
from app.core.db import tenant_transaction

SCRATCH_HOURS = 6  # an upload's plaintext left by a crash is older than any request


async def _erase(contact: ContactRef) -> int:
    return await services.erase_contact_files(contact.tenant_id, contact.contact_id)


async def _scan(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []  # files belong to the workspace's records, not to its members
    names = store.stored_names(subject.workspace_id)
    return [f"{len(names)} attached files"] if names else []


async def _expire() -> int:
    """The daily sweep: files of records that are gone (row and bytes), stored files without
    a row, and upload scratch files a crash left behind."""
    removed = 0
    limit = (datetime.now(UTC) - timedelta(hours=SCRATCH_HOURS)).timestamp()
    for tenant_id in await all_tenant_ids():
        async with tenant_transaction(tenant_id) as conn:
            orphans = await queries.delete_orphans(conn)
            known = await queries.ids_in_workspace(conn)
        for attachment_id in orphans:
            store.remove(tenant_id, attachment_id)
        removed += len(orphans)
        removed += store.remove_unknown(tenant_id, known, limit)
    return removed + store.remove_scratch_before(limit)


TREATMENTS = Treatments(
    erase=[_erase],
    purge=[services.purge_workspace_files],
    scan=[_scan],
    expire=[_expire],
    export_files=[services.write_export],
)
