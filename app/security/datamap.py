"""Where the security domain keeps personal data: MFA, devices, sessions, rate limits, the
audit log and security alerts."""

from __future__ import annotations

from app.core.datamap import (
    Place,
    register,
    table_place,
)
from app.security.holdings import (
    files,
    forget_alerts,
    forget_audit,
    forget_limits,
    forget_sessions,
    purge_sessions,
    read_alerts,
    read_audit,
    read_devices,
    read_mfa,
    read_sessions,
    scan_limits,
    scan_sessions,
)

OWNER = "security"


def _register() -> None:
    devices, alerts, audit = files()
    register(
        table_place(
            "user_mfa",
            OWNER,
            holds=("user",),
            what="the TOTP secret (AES-256-GCM, bound to the user's row), when MFA was turned on",
            retention="while MFA is on (turning it off deletes it) and the account exists",
            access="shown (Two-factor authentication: on/off, since, codes left)",
            export="not exported (a secret)",
            erasure="not affected",
            account_deletion="deleted (cascade from the account)",
            workspace_purge="deleted with members who belong nowhere else",
            user_columns=("user_id",),
            read=read_mfa,
            shown=10,
        )
    )
    register(
        table_place(
            "mfa_recovery_codes",
            OWNER,
            holds=("user",),
            what="single-use recovery codes, as keyed hashes only",
            retention="until used or replaced; while MFA is on",
            access="shown as a count (Two-factor authentication)",
            export="not exported (secrets)",
            erasure="not affected",
            account_deletion="deleted (cascade from the account)",
            workspace_purge="deleted with members who belong nowhere else",
            user_columns=("user_id",),
        )
    )
    register(
        table_place(
            "known_devices",
            OWNER,
            holds=("user",),
            what="devices a person signed in from: a keyed hash of browser, system and IP, and"
            " a label such as 'Firefox on Linux'",
            retention="while the account exists",
            access="shown (Known devices)",
            export="my_devices.csv",
            erasure="not affected",
            account_deletion="deleted (cascade from the account)",
            workspace_purge="deleted with members who belong nowhere else",
            user_columns=("user_id",),
            read=read_devices,
            shown=12,
            exports=(devices,),
        )
    )
    register(
        table_place(
            "tenant_security",
            OWNER,
            holds=("workspace",),
            what="no personal data: the workspace's rule 'MFA required for owners'",
            retention="while the workspace exists",
            access="not shown",
            export="not exported",
            erasure="not affected",
            account_deletion="not affected",
            workspace_purge="deleted",
            tenant_scoped=True,
        )
    )
    register(
        table_place(
            "audit_log",
            OWNER,
            holds=("user", "workspace"),
            what="who did what when: the actor's id and 'Name (address)', the target, details",
            retention="while the workspace exists (a hash-chained security record)",
            access="shown (Audit log entries about you), all of it to admins on the audit page",
            export="my_audit_entries.csv; admins export the whole log from the audit page",
            erasure="not affected (entries name a contact only by id)",
            account_deletion="the person's id, name and address are erased from every entry by"
            " or about them (the chain still verifies; entries older than format 2 can't be)",
            workspace_purge="deleted with the workspace",
            tenant_scoped=True,
            user_columns=("actor_id",),
            text_columns=("actor_label", "target", "details"),
            read=read_audit,
            shown=41,
            exports=(audit,),
            forget_user=forget_audit,
        )
    )
    register(
        table_place(
            "audit_chain_heads",
            OWNER,
            holds=("workspace",),
            what="no personal data: the head of the workspace's audit chain",
            retention="while the workspace exists",
            access="not shown",
            export="not exported",
            erasure="not affected",
            account_deletion="not affected",
            workspace_purge="deleted with the workspace",
            tenant_scoped=True,
        )
    )
    register(
        table_place(
            "security_alerts",
            OWNER,
            holds=("user", "workspace"),
            what="alerts to admins naming a person ('Name (address)'), their session key",
            retention="while the workspace exists",
            access="shown (Security alerts about you); admins see all on the alerts page",
            export="my_security_alerts.csv",
            erasure="not affected",
            account_deletion="kept as the workspace's record but anonymised: ids cleared,"
            " the person's name and address replaced by 'a former member'",
            workspace_purge="deleted",
            tenant_scoped=True,
            user_columns=("actor_id", "subject_user_id", "acknowledged_by"),
            text_columns=("summary", "details"),
            read=read_alerts,
            shown=40,
            exports=(alerts,),
            forget_user=forget_alerts,
        )
    )
    register(
        Place(
            "redis:sessions",
            "redis",
            OWNER,
            ("user",),
            "server-side sessions: user and workspace ids, IP address, browser (user agent),"
            " keyed by a hash of the cookie; an index of each user's sessions",
            retention="idle 12 hours, at most 7 days (SESSION_* settings), or until sign-out",
            access="shown (Sessions)",
            export="not exported (live credentials)",
            erasure="not affected",
            account_deletion="every session ends and is deleted",
            workspace_purge="sessions still in the workspace end",
            pattern="sess:*",
            read=read_sessions,
            shown=11,
            forget_user=forget_sessions,
            purge=purge_sessions,
            scan=scan_sessions,
            also=("user_sessions:*", "user_revoked:*"),
        )
    )
    register(
        Place(
            "redis:rate-limits",
            "redis",
            OWNER,
            ("user", "visitor"),
            "counters and locks keyed by a keyed hash (HMAC) of an address or IP, never the"
            " value itself",
            retention="the window of each limit: 10 minutes to 1 day",
            access="not shown (they expire within a day)",
            export="not exported",
            erasure="not affected",
            account_deletion="the counters and locks of the account's addresses are deleted",
            workspace_purge="not affected (not kept per workspace); they expire within a day",
            pattern="rl:*",
            forget_user=forget_limits,
            scan=scan_limits,
            also=("lock:*",),
        )
    )


_register()
