"""What the privacy domain holds about people, read and forgotten for the data map: consents,
usage, exports, policy notices and their Redis caches (named in app/privacy/datamap.toml)."""

from __future__ import annotations

import shutil
from uuid import UUID

from app.core.datamap import ContactRef, Section, Subject, Treatments, Viewer, redis_keys
from app.core.db import global_transaction, tenant_transaction
from app.core.redis import redis
from app.privacy import consent, policy
from app.privacy.export import export_dir
from app.privacy.queries import delete_usage_of, erase_contact_paths, forget_consents_of
from app.privacy.tables import Export
from app.privacy.usage import DEAD_KEY, INFLIGHT_KEY, QUEUE_KEY

BATCH = 1000


# --- consents -------------------------------------------------------------------------------


async def read_consents(viewer: Viewer, after: str | None, limit: int) -> Section:
    now = await consent.analytics_consent(str(viewer.user_id), viewer.visitor_id or "")
    rows = [
        {
            **r,
            "choice": f"{'granted' if r['granted'] else 'withdrawn'} ({r['purpose']})",
            "where": f"{r['source']} {r['page']}".strip(),
            "version": f"v{r['policy_version']}",
        }
        for r in await consent.history(viewer.user_id, viewer.visitor_id)
    ]
    state = "allowed" if now else ("off" if now is False else "not chosen (off)")
    return Section(
        "Cookie consent",
        [
            ("created_at", "When"),
            ("choice", "Choice"),
            ("version", "Policy"),
            ("where", "Where"),
            ("ip", "IP address"),
        ],
        rows,
        note=f"Analytics now: {state}. Entries of this browser made before you signed in are"
        " listed too.",
    )


async def forget_consents(subject: Subject) -> int:
    """The person's entries, and those of the browsers they gave them from, once the account
    is gone (the ledger is append-only for the app: a narrow function does this one delete)."""
    async with global_transaction() as conn:
        return await forget_consents_of(conn, subject.user_id)


# --- usage ----------------------------------------------------------------------------------


async def forget_usage(subject: Subject) -> int:
    """In batches: a long-standing account can have many events."""
    total = 0
    for tenant_id in subject.tenant_ids:
        while True:
            async with tenant_transaction(tenant_id) as conn:
                done = await delete_usage_of(conn, subject.user_id, BATCH)
            total += done
            if done < BATCH:
                break
    return total


async def _drop_queued(needles: list[str]) -> int:
    """Remove buffered events naming the subject (the flush would drop most of them anyway)."""
    removed = 0
    wanted = [n.encode() for n in needles]
    for key in (QUEUE_KEY, INFLIGHT_KEY, DEAD_KEY):
        items: list[bytes] = await redis().lrange(key, 0, -1)  # type: ignore[misc]
        for item in items:
            if any(n in item for n in wanted):
                removed += int(await redis().lrem(key, 0, item))  # type: ignore[misc,arg-type]
    return removed


async def forget_buffer(subject: Subject) -> int:
    return await _drop_queued(subject.needles)


async def purge_buffer(tenant_id: UUID) -> int:
    return await _drop_queued([str(tenant_id)])


# --- exports --------------------------------------------------------------------------------


async def read_exports(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with tenant_transaction(viewer.tenant_id):
        rows = (
            await Export.select(
                Export.created_at, Export.status, Export.file_name, Export.expires_at
            )
            .where(Export.user_id == viewer.user_id)
            .order_by(Export.created_at, ascending=False)
            .limit(limit)
        )
    return Section(
        "Your exports (this workspace)",
        [
            ("created_at", "Requested"),
            ("status", "Status"),
            ("file_name", "File"),
            ("expires_at", "Link expires"),
        ],
        rows,
    )


async def forget_exports(subject: Subject) -> int:
    """The person's export files, then their rows."""
    removed = 0
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id):
            mine = await Export.select(Export.id).where(Export.user_id == subject.user_id)
        ids = [r["id"] for r in mine]
        for export_id in ids:
            for path in (export_dir() / str(tenant_id)).glob(f"*{export_id}*"):
                path.unlink(missing_ok=True)
                removed += 1
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id):
            await Export.delete().where(Export.user_id == subject.user_id)
    return removed


async def purge_export_files(tenant_id: UUID) -> int:
    folder = export_dir() / str(tenant_id)
    count = len(list(folder.iterdir())) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


async def scan_export_files(subject: Subject) -> list[str]:
    """After a purge: no folder; after an account deletion: no file without its export row."""
    if subject.workspace_id is not None:
        folder = export_dir() / str(subject.workspace_id)
        return [f"{len(list(folder.iterdir()))} export files"] if folder.exists() else []
    orphans = 0
    for tenant_id in subject.tenant_ids:
        folder = export_dir() / str(tenant_id)
        if not folder.exists():
            continue
        async with tenant_transaction(tenant_id):
            known = {str(r["id"]) for r in await Export.select(Export.id)}
        orphans += sum(1 for p in folder.iterdir() if not any(k in p.name for k in known))
    return [f"{orphans} export files whose export is gone"] if orphans else []


# --- policy notices and acknowledgements ----------------------------------------------------


async def read_policy(viewer: Viewer, after: str | None, limit: int) -> Section:
    rows = [
        {"what": f"Told about version {n['version']}", "when": n["created_at"]}
        for n in await policy.notices_of(viewer.user_id)
    ] + [
        {"what": f"Acknowledged version {a['version']}", "when": a["acknowledged_at"]}
        for a in await policy.acks_of(viewer.user_id)
    ]
    return Section("Privacy policy notices", [("when", "When"), ("what", "What")], rows)


async def forget_policy_keys(subject: Subject) -> int:
    keys = await redis_keys(f"privacy:policy:ack:*:{subject.user_id}")
    keys += await redis_keys(f"privacy:consent:u:{subject.user_id}")
    return int(await redis().delete(*keys)) if keys else 0


async def erase_usage_paths(contact: ContactRef) -> int:
    """Page views of the contact's record keep their count, not the record's id."""
    async with tenant_transaction(contact.tenant_id) as conn:
        return await erase_contact_paths(conn, contact.contact_id)


TREATMENTS = Treatments(
    read=[read_consents, read_exports, read_policy],
    erase=[erase_usage_paths],
    forget_user=[forget_consents, forget_usage, forget_exports, forget_buffer, forget_policy_keys],
    purge=[purge_buffer, purge_export_files],
    scan=[scan_export_files],
)
