"""Piccolo tables of the security app (DDL, grants and RLS live in migrations/security)."""

from piccolo.columns import JSONB, UUID, BigInt, Boolean, SmallInt, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Acknowledged, Created, TenantRow, UuidKey


class UserMfa(Created, Table, tablename="user_mfa"):
    """A user's TOTP secret (ciphertext); enabled once the first code was confirmed."""

    user_id = UUID(primary_key=True)
    secret_enc = Text()
    enabled_at = Timestamptz(null=True, default=None)
    last_step = BigInt(default=0)


class MfaRecoveryCode(UuidKey, Created, Table, tablename="mfa_recovery_codes"):
    """A single-use recovery code (keyed hash only)."""

    user_id = UUID()
    code_hash = Text()
    used_at = Timestamptz(null=True, default=None)


class KnownDevice(Table, tablename="known_devices"):
    """A (browser family, IP) a user has logged in from, as an HMAC."""

    user_id = UUID(primary_key=True)  # with device_hash: the real key is composite
    device_hash = Text()
    label = Text(default="")
    first_seen = Timestamptz()
    last_seen = Timestamptz()


class TenantSecurity(Table, tablename="tenant_security"):
    """A workspace's security settings."""

    tenant_id = UUID(primary_key=True)
    mfa_required_for_owners = Boolean(default=False)
    updated_at = Timestamptz()


class AuditEntry(TenantRow, Created, Table, tablename="audit_log"):
    """One append-only, hash-chained audit log entry."""

    seq = BigInt()
    actor_id = UUID(null=True, default=None)
    actor_label = Text(default="")
    action = Text()
    target = Text(default="")
    details = JSONB(default="{}")
    prev_hash = Text()
    hash = Text()
    format = SmallInt(default=1)  # 1: hash over the fields, 2: over a salted personal digest
    salt = Text(null=True, default=None)
    personal_digest = Text(null=True, default=None)
    erased_at = Timestamptz(null=True, default=None)


class AuditChainHead(Table, tablename="audit_chain_heads"):
    """The last sequence number and hash of a tenant's audit chain."""

    tenant_id = UUID(primary_key=True)
    seq = BigInt(default=0)
    hash = Text(default="")


class SecurityAlert(TenantRow, Created, Acknowledged, Table, tablename="security_alerts"):
    """A security event shown (and mailed) to the workspace's admins."""

    kind = Text()
    actor_id = UUID(null=True, default=None)
    subject_user_id = UUID(null=True, default=None)
    summary = Text()
    details = JSONB(default="{}")
    session_key = Text(null=True, default=None)
    session_revoked_at = Timestamptz(null=True, default=None)
