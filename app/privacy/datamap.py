"""Where the privacy domain keeps personal data: consents, usage, exports, deletion records."""

from __future__ import annotations

import shutil
from typing import Any
from uuid import UUID

from app.core.datamap import ExportFile as File
from app.core.datamap import (
    Place,
    Section,
    Subject,
    Viewer,
    col,
    in_each_tenant,
    redis_keys,
    register,
    table_place,
    time_page,
    utc,
)
from app.core.db import global_transaction, tenant_transaction
from app.core.redis import redis
from app.privacy import consent, policy
from app.privacy.export import export_dir
from app.privacy.usage import DEAD_KEY, INFLIGHT_KEY, QUEUE_KEY

OWNER = "privacy"
BATCH = 1000


# --- consents -------------------------------------------------------------------------------


async def _read_consents(viewer: Viewer, after: str | None, limit: int) -> Section:
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


async def _forget_consents(subject: Subject) -> int:
    """The person's entries, and those of the browsers they gave them from, once the account
    is gone (the ledger is append-only for the app: a narrow function does this one delete)."""
    async with global_transaction() as conn:
        return int(await conn.fetchval("select odex_private.forget_consents($1)", subject.user_id))


CONSENTS_FILE = File(
    "my_consents.csv",
    "Your cookie choices: yours, and those made in the browser you exported from (the same"
    " list as the My data page).",
    f'select {utc("created_at")} as "When (UTC)", purpose as "Purpose",'
    " case when granted then 'granted' else 'withdrawn' end as \"Choice\","
    ' policy_version as "Policy version", source as "Where", page as "Page",'
    ' ip as "IP address", user_agent as "Browser" from consents'
    " where user_id = $1 or ($2 <> '' and visitor_id = $2) order by id",
    (
        col("When (UTC)", "When the choice was made."),
        col("Purpose", "What it was about (analytics cookies)."),
        col("Choice", "granted or withdrawn."),
        col("Policy version", "The privacy policy version in force then."),
        col("Where", "banner, preferences or settings."),
        col("Page", "The page it was made on."),
        col("IP address", "The address the choice came from (proof of consent)."),
        col("Browser", "The browser's user agent."),
    ),
    own_where="true",
)


# --- usage ----------------------------------------------------------------------------------


async def _read_usage(viewer: Viewer, after: str | None, limit: int) -> Section:
    page, total, next_after = await time_page(
        viewer.tenant_id,
        "usage_events",
        "category || ': ' || kind as event, coalesce(nullif(feature, ''), path) as what,"
        " concat_ws(' / ', browser, os, device) as browser, ip",
        "user_id = $1",
        viewer.user_id,
        after,
        limit,
    )
    return Section(
        "Usage data about you (this workspace)",
        [
            ("created_at", "When"),
            ("event", "Event"),
            ("what", "Page / feature"),
            ("browser", "Browser"),
            ("ip", "IP address"),
        ],
        page,
        total,
        next_after,
        note="Analytics events only with your consent; security events always.",
    )


async def _forget_usage(subject: Subject) -> int:
    """In batches: a long-standing account can have many events."""
    total = 0
    for tenant_id in subject.tenant_ids:
        while True:
            done = await in_each_tenant(
                (tenant_id,),
                "delete from usage_events where ctid = any(array(select ctid from usage_events"
                f" where user_id = $1 limit {BATCH}))",
                subject.user_id,
            )
            total += done
            if done < BATCH:
                break
    return total


USAGE_FILE = File(
    "my_usage_events.csv",
    "Usage data about you in this workspace.",
    f'select {utc("created_at")} as "When (UTC)", category as "Category",'
    ' kind as "Event", path as "Page", feature as "Feature", browser as "Browser",'
    ' os as "System", device as "Device", ip as "IP address" from usage_events'
    " where user_id = $1 order by created_at",
    (
        col("When (UTC)", "When it happened."),
        col("Category", "analytics (only with consent) or security."),
        col("Event", "page, feature, login, logout…"),
        col("Page", "The page's path."),
        col("Feature", "The feature used."),
        col("Browser", "Browser family."),
        col("System", "Operating system."),
        col("Device", "desktop, mobile or tablet."),
        col("IP address", "Where the request came from."),
    ),
    own_where="true",
)


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


async def _forget_buffer(subject: Subject) -> int:
    return await _drop_queued(subject.needles)


async def _purge_buffer(tenant_id: UUID) -> int:
    return await _drop_queued([str(tenant_id)])


# --- exports --------------------------------------------------------------------------------


async def _read_exports(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with tenant_transaction(viewer.tenant_id) as conn:
        rows = await conn.fetch(
            "select created_at, status, file_name, expires_at from exports where user_id = $1"
            " order by created_at desc limit $2",
            viewer.user_id,
            limit,
        )
    return Section(
        "Your exports (this workspace)",
        [
            ("created_at", "Requested"),
            ("status", "Status"),
            ("file_name", "File"),
            ("expires_at", "Link expires"),
        ],
        [dict(r) for r in rows],
    )


async def _forget_exports(subject: Subject) -> int:
    """The person's export files, then their rows."""
    removed = 0
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "select id from exports where user_id = $1", subject.user_id
                )
            ]
        for export_id in ids:
            for path in (export_dir() / str(tenant_id)).glob(f"*{export_id}*"):
                path.unlink(missing_ok=True)
                removed += 1
    await in_each_tenant(
        subject.tenant_ids, "delete from exports where user_id = $1", subject.user_id
    )
    return removed


async def _purge_export_files(tenant_id: UUID) -> int:
    folder = export_dir() / str(tenant_id)
    count = len(list(folder.iterdir())) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


async def _scan_export_files(subject: Subject) -> list[str]:
    """After a purge: no folder; after an account deletion: no file without its export row."""
    if subject.workspace_id is not None:
        folder = export_dir() / str(subject.workspace_id)
        return [f"{len(list(folder.iterdir()))} export files"] if folder.exists() else []
    orphans = 0
    for tenant_id in subject.tenant_ids:
        folder = export_dir() / str(tenant_id)
        if not folder.exists():
            continue
        async with tenant_transaction(tenant_id) as conn:
            known = {str(r["id"]) for r in await conn.fetch("select id from exports")}
        orphans += sum(1 for p in folder.iterdir() if not any(k in p.name for k in known))
    return [f"{orphans} export files whose export is gone"] if orphans else []


# --- policy notices and acknowledgements ----------------------------------------------------


async def _read_policy(viewer: Viewer, after: str | None, limit: int) -> Section:
    rows = [
        {"what": f"Told about version {n['version']}", "when": n["created_at"]}
        for n in await policy.notices_of(viewer.user_id)
    ] + [
        {"what": f"Acknowledged version {a['version']}", "when": a["acknowledged_at"]}
        for a in await policy.acks_of(viewer.user_id)
    ]
    return Section("Privacy policy notices", [("when", "When"), ("what", "What")], rows)


async def _forget_policy_keys(subject: Subject) -> int:
    keys = await redis_keys(f"privacy:policy:ack:*:{subject.user_id}")
    keys += await redis_keys(f"privacy:consent:u:{subject.user_id}")
    return int(await redis().delete(*keys)) if keys else 0


def _register() -> None:
    register(
        table_place(
            "consents",
            OWNER,
            ("user", "visitor"),
            "cookie choices: user or browser id, choice, page, IP address, user agent",
            retention="append-only proof of consent while the account exists",
            access="shown (Cookie consent), with this browser's entries",
            export="my_consents.csv (the same entries as the page)",
            erasure="not affected",
            account_deletion="deleted once the account is gone, with the entries of the browsers"
            " the person used",
            workspace_purge="not kept per workspace: members who belong nowhere else lose theirs",
            user_columns=("user_id",),
            order=910,
            read=_read_consents,
            shown=20,
            exports=(CONSENTS_FILE,),
            forget_user=_forget_consents,
        )
    )
    register(
        table_place(
            "usage_events",
            OWNER,
            ("user", "workspace"),
            "pages and features used (analytics, with consent) and security events: path,"
            " browser, system, device, IP address",
            retention="USAGE_RETENTION_DAYS (90) days, then deleted by a daily job",
            access="shown (Usage data about you), paginated",
            export="my_usage_events.csv",
            erasure="page paths naming the contact are blanked",
            account_deletion="deleted in batches",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("user_id",),
            read=_read_usage,
            shown=30,
            exports=(USAGE_FILE,),
            forget_user=_forget_usage,
            erase=_erase_usage_paths,
        )
    )
    register(
        table_place(
            "visitor_events",
            OWNER,
            ("visitor",),
            "usage and security events of visitors not signed in: path, browser, IP address",
            retention="USAGE_RETENTION_DAYS (90) days, then deleted by a daily job",
            access="not shown (not linked to an account)",
            export="not exported (not linked to an account)",
            erasure="not affected",
            account_deletion="not linked to the account; deleted after the retention",
            workspace_purge="not affected (no workspace)",
        )
    )
    register(
        table_place(
            "exports",
            OWNER,
            ("user", "workspace"),
            "who exported when, the file's name and manifest, the browser's consent id",
            retention="while the workspace exists (the zip itself: EXPORT_LINK_HOURS)",
            access="shown (Your exports)",
            export="not exported",
            erasure="not affected (past exports are the requester's copies)",
            account_deletion="deleted with the person's export files",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("user_id",),
            read=_read_exports,
            shown=50,
            forget_user=_forget_exports,
        )
    )
    register(
        Place(
            "file:exports",
            "file",
            OWNER,
            ("user", "contact", "workspace"),
            "export zips (decrypted contact emails, phones and notes) and the temp files of"
            " exports being written",
            retention="EXPORT_LINK_HOURS (24) after it is ready; a temp file of a job that died"
            " or timed out is swept within the hour after the job's timeout",
            access="downloadable by the requester until the link expires",
            export="is the export",
            erasure="not affected (copies already taken by the requester)",
            account_deletion="the person's export files are deleted",
            workspace_purge="the workspace's folder is deleted",
            pattern="exports/*/*",
            purge=_purge_export_files,
            scan=_scan_export_files,
        )
    )
    register(
        table_place(
            "deletion_requests",
            OWNER,
            ("user", "workspace"),
            "the minimal deletion record: account/workspace ids, dates, counts; the address"
            " to confirm to (cleared when done)",
            retention="kept after the deletion (to re-apply deletions after a restore)",
            access="shown on Export & delete while open",
            export="not exported",
            erasure="not affected",
            account_deletion="kept: ids, dates and counts only; the address is cleared",
            workspace_purge="kept: ids, dates and counts only; the address is cleared",
            user_columns=("subject_user_id",),
            workspace_columns=("workspace_id",),
            text_columns=("notify_email",),
            kept="the minimal deletion record (ids and dates), needed to re-apply the deletion"
            " after restoring a backup",
        )
    )
    register(
        table_place(
            "deletion_reports",
            OWNER,
            ("platform",),
            "no personal data: which places were checked after a deletion and what they held",
            retention="kept as proof of deletion",
            access="not shown (staff and logs)",
            export="not exported",
            erasure="not affected",
            account_deletion="one is written",
            workspace_purge="one is written",
        )
    )
    register(
        table_place(
            "policy_versions",
            OWNER,
            ("platform",),
            "the platform's policy texts; the staff member who published one",
            retention="for ever (the history of the policy)",
            access="public (/privacy)",
            export="not exported",
            erasure="not affected",
            account_deletion="the publisher is cleared (set to null)",
            workspace_purge="not affected",
            user_columns=("published_by",),
        )
    )
    for table, what in (
        ("policy_notices", "which policy version a person was told about, when"),
        ("policy_acks", "which policy version a person acknowledged, when"),
    ):
        register(
            table_place(
                table,
                OWNER,
                ("user",),
                what,
                retention="while the account exists",
                access="shown (Privacy policy notices)",
                export="not exported",
                erasure="not affected",
                account_deletion="deleted (cascade from the account)",
                workspace_purge="deleted with members who belong nowhere else",
                user_columns=("user_id",),
                read=_read_policy if table == "policy_notices" else None,
                shown=21,
            )
        )
    register(
        Place(
            "redis:usage-buffer",
            "redis",
            OWNER,
            ("user", "workspace", "visitor"),
            "usage events waiting (seconds) to be written: ids, path, browser, IP address",
            retention="until the next flush (every 10 seconds)",
            access="shown once flushed (Usage data)",
            export="once flushed",
            erasure="not affected",
            account_deletion="queued events of the person are dropped",
            workspace_purge="queued events of the workspace are dropped",
            pattern="privacy:usage:*",
            forget_user=_forget_buffer,
            purge=_purge_buffer,
        )
    )
    register(
        Place(
            "redis:privacy-cache",
            "redis",
            OWNER,
            ("user", "visitor"),
            "cached consent choice and policy acknowledgement per user/browser id; an export's"
            " progress",
            retention="6 hours (consent), 30 days (acknowledgement), 1 day (progress)",
            access="the same data is shown from the database",
            export="not exported (copies of the ledger)",
            erasure="not affected",
            account_deletion="the person's keys are deleted",
            workspace_purge="not kept per workspace",
            pattern="privacy:consent:*",
            also=("privacy:policy:*", "privacy:export:*", "privacy:retention:*"),
            forget_user=_forget_policy_keys,
        )
    )


async def _erase_usage_paths(contact: Any) -> int:
    """Page views of the contact's record keep their count, not the record's id."""
    async with tenant_transaction(contact.tenant_id) as conn:
        status = await conn.execute(
            "update usage_events set path = regexp_replace(path, $1, '/contacts/(erased)')"
            " where path like $2",
            f"/contacts/{contact.contact_id}",
            f"/contacts/{contact.contact_id}%",
        )
    return int(status.split()[-1])


_register()
