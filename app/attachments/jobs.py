"""The attachments' background job: bringing stored files under the newest field key."""

from __future__ import annotations

import asyncio
import logging

from app.attachments import queries, store
from app.core.crypto import DecryptionError, all_tenant_ids
from app.core.db import tenant_transaction

log = logging.getLogger("odex.attachments")


async def rotate_attachment_keys(ctx: dict[str, object] | None = None) -> int:
    """arq job (nightly, and after a new key is put in front of FIELD_KEYS): rewrite every
    stored file and thumbnail that names an older key under the newest one, workspace by
    workspace. Restartable and a no-op once done; a file that can't be opened is logged and
    left as it is. How many parts it rewrote."""
    rewritten = 0
    for tenant_id in await all_tenant_ids():
        async with tenant_transaction(tenant_id) as conn:
            ids = await queries.ids_in_workspace(conn)
        for attachment_id in sorted(ids):
            for part in store.PARTS:
                try:
                    done = await asyncio.to_thread(
                        store.rewrite_under_newest_key, tenant_id, attachment_id, part
                    )
                except DecryptionError:
                    log.warning("attachment %s (%s) could not be opened", attachment_id, part)
                    continue
                rewritten += int(done)
    return rewritten
