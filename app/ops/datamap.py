"""Where operations keep data: backups (everything, encrypted), the database's own files, the
dev mail sink; the backup register and operator alerts hold no personal data."""

from __future__ import annotations

from app.core.datamap import Place, register, table_place

OWNER = "ops"


def _register() -> None:
    register(
        table_place(
            "backups",
            OWNER,
            ("platform",),
            "no personal data: backup file names, sizes, checksums, targets",
            retention="rows kept as history (files pruned by the retention schedule)",
            access="not shown (`odex backup --list`)",
            export="not exported",
            erasure="not affected",
            account_deletion="not affected",
            workspace_purge="not affected",
        )
    )
    register(
        table_place(
            "operator_alerts",
            OWNER,
            ("platform",),
            "no personal data: failed or unverifiable backups, targets on one disk",
            retention="kept as the operators' history",
            access="not shown (staff: /staff/operator-alerts)",
            export="not exported",
            erasure="not affected",
            account_deletion="the staff member who acknowledged one is cleared",
            workspace_purge="not affected",
            user_columns=("acknowledged_by",),
        )
    )
    register(
        Place(
            "backup:files",
            "backup",
            OWNER,
            ("user", "contact", "workspace", "visitor"),
            "whole-database dumps (everything above), AES-256-GCM under BACKUP_KEY, in every"
            " backup target (BACKUP_DIRS, BACKUP_S3_BUCKET)",
            retention="7 daily, 4 weekly, 6 monthly (BACKUP_KEEP_*): erased data leaves the"
            " backups at most BACKUP_KEEP_MONTHLY months after the erasure",
            access="not shown",
            export="not exported",
            erasure="ages out with the retention schedule",
            account_deletion="ages out with the retention schedule",
            workspace_purge="ages out with the retention schedule",
            pattern="backups/*/*",
            kept="encrypted backups taken before the deletion hold it until the retention"
            " schedule prunes them (at most BACKUP_KEEP_MONTHLY months)",
        )
    )
    register(
        Place(
            "file:database",
            "file",
            OWNER,
            ("user", "contact", "workspace", "visitor"),
            "the files of the embedded PostgreSQL and Valkey (make run; production uses its own"
            " servers): every table and key above",
            retention="as the tables and keys above; deleted rows' space is reused after VACUUM",
            access="through the tables above",
            export="through the tables above",
            erasure="through the tables above",
            account_deletion="through the tables above",
            workspace_purge="through the tables above",
            pattern="postgres/*",
            also=("valkey/*", "xdg-runtime/*", "dev-secrets.env"),
            kept="the database's own files (rows deleted above are gone from every query; disk"
            " encryption is the operator's)",
        )
    )
    register(
        Place(
            "mail:dev-sink",
            "mail",
            OWNER,
            ("user",),
            "copies of every mail sent by `make run` and the tests (dev and test only: production"
            " sends to SMTP_URL)",
            retention="until `make clean` (dev only)",
            access="/dev/mailbox (dev only)",
            export="not exported",
            erasure="not affected",
            account_deletion="not affected (dev only)",
            workspace_purge="not affected (dev only)",
            pattern="mailbox/*",
            kept="the development mail sink (never in production)",
        )
    )


_register()
