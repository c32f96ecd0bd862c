"""Piccolo tables of the privacy app (DDL, RLS and grants live in migrations/privacy)."""

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    BigSerial,
    Boolean,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from app.core.columns import Created, Finished, TenantRow, UuidKey


class Consent(Created, Table, tablename="consents"):
    """One entry of the append-only consent ledger (global: a person or a browser)."""

    id = BigSerial(primary_key=True)
    user_id = UUID(null=True, default=None)
    visitor_id = Text(null=True, default=None)
    purpose = Text()
    granted = Boolean()
    policy_version = Integer()
    source = Text()
    page = Text(default="")
    ip = Text(default="")
    user_agent = Text(default="")


class EventColumns:
    """What a usage or visitor event records: its category and kind, where, in which browser."""

    category = Text()
    kind = Text()
    path = Text(default="")
    feature = Text(default="")
    browser = Text(default="")
    os = Text(default="")
    device = Text(default="")
    ip = Text(default="")
    analytics_id = Text(null=True, default=None)


class UsageEvent(TenantRow, EventColumns, Created, Table, tablename="usage_events"):
    """A page view, feature use or security event of a signed-in user in a workspace."""

    user_id = UUID(null=True, default=None)


class VisitorEvent(UuidKey, EventColumns, Created, Table, tablename="visitor_events"):
    """An event of a visitor outside any workspace (global)."""


class Export(TenantRow, Created, Finished, Table, tablename="exports"):
    """A CSV export of a workspace, requested by one user (only they can download it)."""

    user_id = UUID()
    status = Text(default="queued")
    progress = Integer(default=0)
    current_file = Text(default="")
    bom = Boolean(default=False)
    file_name = Text(null=True, default=None)
    size_bytes = BigInt(null=True, default=None)
    manifest = JSONB(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    visitor_id = Text(null=True, default=None)  # the browser it was asked from (consents)


class DeletionRequest(UuidKey, Table, tablename="deletion_requests"):
    """A scheduled account or workspace deletion; after the purge, the minimal record."""

    scope = Text()
    workspace_id = UUID(null=True, default=None)
    subject_user_id = UUID(null=True, default=None)
    notify_email = Text(null=True, default=None)
    status = Text(default="scheduled")
    requested_at = Timestamptz()
    due_at = Timestamptz()
    reminder_sent_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    rows_deleted = BigInt(default=0)
    progress = JSONB(default="{}")
    with_account = UUID(null=True, default=None)  # a workspace deleted with this account


class DeletionReport(UuidKey, Created, Table, tablename="deletion_reports"):
    """What the scan of every data-map place found after a purge (places and counts only)."""

    request_id = UUID()
    scope = Text()
    clean = Boolean()
    places_checked = Integer()
    findings = JSONB(default="[]")
    kept = JSONB(default="[]")


class PolicyVersion(Table, tablename="policy_versions"):
    """A published version of the privacy policy (effective ≥ 30 days after publication)."""

    version = Integer(primary_key=True)
    summary = Text()
    body_md = Text(null=True, default=None)
    published_at = Timestamptz()
    effective_at = Timestamptz()
    published_by = UUID(null=True, default=None)
    notified_at = Timestamptz(null=True, default=None)


class PolicyNotice(Created, Table, tablename="policy_notices"):
    """The one change notice a user got for a version."""

    version = Integer(primary_key=True)
    user_id = UUID()


class PolicyAck(Table, tablename="policy_acks"):
    """A user's acknowledgement of a policy version."""

    user_id = UUID(primary_key=True)
    version = Integer()
    acknowledged_at = Timestamptz()
