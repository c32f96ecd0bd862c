"""Piccolo tables of the ops app (DDL lives in migrations/ops)."""

from piccolo.columns import Array, BigInt, Date, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Acknowledged, Created, Finished, UuidKey


class Backup(UuidKey, Finished, Table, tablename="backups"):
    """One encrypted database backup: where its copies are, how big, its SHA-256."""

    kind = Text()  # scheduled | manual
    backup_day = Date()
    status = Text(default="running")  # running | complete | failed | pruned
    file_name = Text()
    size_bytes = BigInt(null=True, default=None)
    sha256 = Text(null=True, default=None)
    key_id = Text(null=True, default=None)
    targets = Array(base_column=Text())
    started_at = Timestamptz()
    pruned_at = Timestamptz(null=True, default=None)
    verified_at = Timestamptz(null=True, default=None)
    verify_error = Text(null=True, default=None)


class OperatorAlert(UuidKey, Created, Acknowledged, Table, tablename="operator_alerts"):
    """Something the platform's operators must look at (a backup failed or doesn't verify)."""

    kind = Text()
    summary = Text()
    details = Text(default="")
