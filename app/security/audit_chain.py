"""The audit log's hash chain: how an entry's hash is computed (format 1: over its fields;
format 2: over a salted digest of its personal fields), and erasing a person from format 2
entries without breaking the chain (the fields are blanked, the digest kept)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypedDict
from uuid import UUID

from app.core import db
from app.core.datamap import like_any
from app.core.rows import NOW, Row, row_as
from app.security import queries
from app.security.tables import AuditEntry


def _digest(fields: dict[str, object], *, ensure_ascii: bool = False) -> str:
    """SHA-256 (hex) of `fields` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return hashlib.sha256(canonical.encode()).hexdigest()


def entry_hash(
    *,
    tenant_id: UUID,
    seq: int,
    created_at: datetime,
    actor_id: UUID | None,
    actor_label: str,
    action: str,
    target: str,
    details: dict[str, object],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) that links an entry into its tenant's chain."""
    return _digest(
        {
            "tenant_id": str(tenant_id),
            "seq": seq,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": str(actor_id) if actor_id else None,
            "actor_label": actor_label,
            "action": action,
            "target": target,
            "details": details,
            "prev_hash": prev_hash,
        }
    )


FORMAT = 2
ERASED_TARGET = ""


def personal_digest(
    salt: str, actor_id: UUID | None, actor_label: str, target: str, details: dict[str, object]
) -> str:
    """The salted SHA-256 of an entry's personal fields (what a format 2 hash covers)."""
    return _digest(
        {
            "salt": salt,
            "actor_id": str(actor_id) if actor_id else None,
            "actor_label": actor_label,
            "target": target,
            "details": details,
        }
    )


def entry_hash_v2(
    *,
    tenant_id: UUID,
    seq: int,
    created_at: datetime,
    action: str,
    personal: str,
    prev_hash: str,
) -> str:
    """The hash of a format 2 entry: its public fields and the digest of its personal ones."""
    return _digest(
        {
            "format": 2,
            "tenant_id": str(tenant_id),
            "seq": seq,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": action,
            "personal": personal,
            "prev_hash": prev_hash,
        },
        ensure_ascii=True,  # format 2's hash was defined with \u escapes: it stays so
    )


def details_of(value: str | Mapping[str, object] | None) -> dict[str, object]:
    if isinstance(value, str):
        parsed: dict[str, object] = json.loads(value)
        return parsed
    return dict(value or {})


class StoredEntry(TypedDict):
    """An audit entry as read back: what its hash was computed over."""

    tenant_id: UUID
    seq: int
    created_at: datetime
    actor_id: UUID | None
    actor_label: str
    action: str
    target: str
    details: str | dict[str, object] | None
    prev_hash: str
    format: int
    salt: str | None
    personal_digest: str | None


def stored_entry_hash(stored: Row) -> str | None:
    """The hash an entry read back should have (None: an erasure that changed more than the
    personal fields, or left them readable)."""
    row = row_as(StoredEntry, stored)
    details = details_of(row["details"])
    if row["format"] == 1:
        return entry_hash(
            tenant_id=row["tenant_id"],
            seq=int(row["seq"]),
            created_at=row["created_at"],
            actor_id=row["actor_id"],
            actor_label=row["actor_label"],
            action=row["action"],
            target=row["target"],
            details=details,
            prev_hash=row["prev_hash"],
        )
    if row["personal_digest"] is not None:  # erased: only the placeholder may remain
        blank = (row["actor_id"], row["actor_label"], row["target"], details, row["salt"])
        if blank != (None, "", ERASED_TARGET, {}, None):
            return None
        personal = str(row["personal_digest"])
    else:
        personal = personal_digest(
            str(row["salt"]), row["actor_id"], row["actor_label"], row["target"], details
        )
    return entry_hash_v2(
        tenant_id=row["tenant_id"],
        seq=int(row["seq"]),
        created_at=row["created_at"],
        action=row["action"],
        personal=personal,
        prev_hash=row["prev_hash"],
    )


async def erase_person(
    tenant_ids: tuple[UUID, ...], user_id: UUID | None, needles: list[str]
) -> int:
    """Blank the personal fields of every format 2 entry by or about a deleted person (their id
    as actor, or an id/address of theirs in the label, target or details), keeping the chain
    verifiable. Returns how many entries were erased."""
    patterns = like_any(needles)
    erased = 0
    for tenant_id in tenant_ids:
        async with db.tenant_transaction(tenant_id) as conn:
            rows = await queries.rows_naming(
                conn, queries.AUDIT_NAMING, queries.ErasableEntry, user_id, patterns, lock=True
            )
            for row in rows:
                digest = personal_digest(
                    str(row.salt),
                    row.actor_id,
                    row.actor_label,
                    row.target,
                    details_of(row.details),
                )
                # the personal fields blanked, their digest kept (the chain still verifies)
                await AuditEntry.update(
                    {
                        AuditEntry.actor_id: None,
                        AuditEntry.actor_label: "",
                        AuditEntry.target: ERASED_TARGET,
                        AuditEntry.details: "{}",
                        AuditEntry.salt: None,
                        AuditEntry.personal_digest: digest,
                        AuditEntry.erased_at: NOW,
                    }
                ).where(AuditEntry.id == row.id)
            erased += len(rows)
    return erased
