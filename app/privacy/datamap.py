"""Where the privacy domain keeps personal data: consents, usage, exports, deletion records."""

from __future__ import annotations

from app.core.datamap import (
    Place,
    redis_family,
    register,
    table_place,
    tenant_table,
    user_table,
)
from app.privacy.holdings import (
    CONSENTS_FILE,
    USAGE_FILE,
    erase_usage_paths,
    forget_buffer,
    forget_consents,
    forget_exports,
    forget_policy_keys,
    forget_usage,
    purge_buffer,
    purge_export_files,
    read_consents,
    read_exports,
    read_policy,
    read_usage,
    scan_export_files,
)

OWNER = "privacy"


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
            read=read_consents,
            shown=20,
            exports=(CONSENTS_FILE,),
            forget_user=forget_consents,
        )
    )
    register(
        tenant_table(
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
            user_columns=("user_id",),
            read=read_usage,
            shown=30,
            exports=(USAGE_FILE,),
            forget_user=forget_usage,
            erase=erase_usage_paths,
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
        tenant_table(
            "exports",
            OWNER,
            ("user", "workspace"),
            "who exported when, the file's name and manifest, the browser's consent id",
            retention="while the workspace exists (the zip itself: EXPORT_LINK_HOURS)",
            access="shown (Your exports)",
            erasure="not affected (past exports are the requester's copies)",
            account_deletion="deleted with the person's export files",
            user_columns=("user_id",),
            read=read_exports,
            shown=50,
            forget_user=forget_exports,
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
            purge=purge_export_files,
            scan=scan_export_files,
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
            user_table(
                table,
                OWNER,
                what,
                access="shown (Privacy policy notices)",
                read=read_policy if table == "policy_notices" else None,
                shown=21,
            )
        )
    register(
        redis_family(
            "usage-buffer",
            OWNER,
            ("user", "workspace", "visitor"),
            "usage events waiting (seconds) to be written: ids, path, browser, IP address",
            "privacy:usage:*",
            retention="until the next flush (every 10 seconds)",
            access="shown once flushed (Usage data)",
            export="once flushed",
            erasure="not affected",
            account_deletion="queued events of the person are dropped",
            workspace_purge="queued events of the workspace are dropped",
            forget_user=forget_buffer,
            purge=purge_buffer,
        )
    )
    register(
        redis_family(
            "privacy-cache",
            OWNER,
            ("user", "visitor"),
            "cached consent choice and policy acknowledgement per user/browser id; an export's"
            " progress",
            "privacy:consent:*",
            retention="6 hours (consent), 30 days (acknowledgement), 1 day (progress)",
            access="the same data is shown from the database",
            export="not exported (copies of the ledger)",
            erasure="not affected",
            account_deletion="the person's keys are deleted",
            workspace_purge="not kept per workspace",
            also=("privacy:policy:*", "privacy:export:*", "privacy:retention:*"),
            forget_user=forget_policy_keys,
        )
    )


_register()
