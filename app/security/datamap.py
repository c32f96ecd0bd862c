"""Where the security domain keeps personal data: MFA, devices, sessions, rate limits, the
audit log and security alerts."""

from __future__ import annotations

from app.core.datamap import (
    redis_family,
    register,
    tenant_table,
    user_table,
    workspace_record,
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
        user_table(
            "user_mfa",
            OWNER,
            "the TOTP secret (AES-256-GCM, bound to the user's row), when MFA was turned on",
            retention="while MFA is on (turning it off deletes it) and the account exists",
            access="shown (Two-factor authentication: on/off, since, codes left)",
            export="not exported (a secret)",
            read=read_mfa,
            shown=10,
        )
    )
    register(
        user_table(
            "mfa_recovery_codes",
            OWNER,
            "single-use recovery codes, as keyed hashes only",
            retention="until used or replaced; while MFA is on",
            access="shown as a count (Two-factor authentication)",
            export="not exported (secrets)",
        )
    )
    register(
        user_table(
            "known_devices",
            OWNER,
            "devices a person signed in from: a keyed hash of browser, system and IP, and"
            " a label such as 'Firefox on Linux'",
            access="shown (Known devices)",
            export="my_devices.csv",
            read=read_devices,
            shown=12,
            exports=(devices,),
        )
    )
    register(
        workspace_record(
            "tenant_security",
            OWNER,
            "no personal data: the workspace's rule 'MFA required for owners'",
        )
    )
    register(
        tenant_table(
            "audit_log",
            OWNER,
            ("user", "workspace"),
            "who did what when: the actor's id and 'Name (address)', the target, details",
            retention="while the workspace exists (a hash-chained security record)",
            access="shown (Audit log entries about you), all of it to admins on the audit page",
            export="my_audit_entries.csv; admins export the whole log from the audit page",
            erasure="not affected (entries name a contact only by id)",
            account_deletion="the person's id, name and address are erased from every entry by"
            " or about them (the chain still verifies; entries older than format 2 can't be)",
            workspace_purge="deleted with the workspace",
            user_columns=("actor_id",),
            text_columns=("actor_label", "target", "details"),
            read=read_audit,
            shown=41,
            exports=(audit,),
            forget_user=forget_audit,
        )
    )
    register(
        workspace_record(
            "audit_chain_heads",
            OWNER,
            "no personal data: the head of the workspace's audit chain",
            workspace_purge="deleted with the workspace",
        )
    )
    register(
        tenant_table(
            "security_alerts",
            OWNER,
            ("user", "workspace"),
            "alerts to admins naming a person ('Name (address)'), their session key",
            retention="while the workspace exists",
            access="shown (Security alerts about you); admins see all on the alerts page",
            export="my_security_alerts.csv",
            account_deletion="kept as the workspace's record but anonymised: ids cleared,"
            " the person's name and address replaced by 'a former member'",
            user_columns=("actor_id", "subject_user_id", "acknowledged_by"),
            text_columns=("summary", "details"),
            read=read_alerts,
            shown=40,
            exports=(alerts,),
            forget_user=forget_alerts,
        )
    )
    register(
        redis_family(
            "sessions",
            OWNER,
            ("user",),
            "server-side sessions: user and workspace ids, IP address, browser (user agent),"
            " keyed by a hash of the cookie; an index of each user's sessions",
            "sess:*",
            retention="idle 12 hours, at most 7 days (SESSION_* settings), or until sign-out",
            access="shown (Sessions)",
            export="not exported (live credentials)",
            erasure="not affected",
            account_deletion="every session ends and is deleted",
            workspace_purge="sessions still in the workspace end",
            read=read_sessions,
            shown=11,
            forget_user=forget_sessions,
            purge=purge_sessions,
            scan=scan_sessions,
            also=("user_sessions:*", "user_revoked:*"),
        )
    )
    register(
        redis_family(
            "rate-limits",
            OWNER,
            ("user", "visitor"),
            "counters and locks keyed by a keyed hash (HMAC) of an address or IP, never the"
            " value itself",
            "rl:*",
            retention="the window of each limit: 10 minutes to 1 day",
            access="not shown (they expire within a day)",
            export="not exported",
            erasure="not affected",
            account_deletion="the counters and locks of the account's addresses are deleted",
            workspace_purge="not affected (not kept per workspace); they expire within a day",
            forget_user=forget_limits,
            scan=scan_limits,
            also=("lock:*",),
        )
    )


_register()
