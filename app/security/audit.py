"""The audit log: append-only, hash-chained per tenant, verifiable, filterable, exportable.

Each entry's hash is SHA-256 over a canonical JSON of its fields and the previous entry's
hash. Appends lock the tenant's chain head row (FOR UPDATE), so concurrent writers queue up
and the sequence has no gaps. odex_app may not delete entries nor change them, except to erase
a person (`audit_chain.erase_person`); `verify_chain` finds the first entry whose content, order
or link was changed.

Format 2 entries (every entry written now) hash a salted digest of their personal fields
(actor id and label, target, details) rather than the fields themselves. Erasing a person who
deleted their account blanks those fields, drops the salt and keeps the digest, so the chain
still verifies; any other change to an entry breaks it. Format 1 entries (older) hash the
fields directly and can't be erased.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec
from piccolo.custom_types import Combinable

from app.core import db
from app.core.crypto import all_tenant_ids
from app.core.rows import row_as
from app.core.spreadsheet import safe_cell
from app.security.audit_chain import FORMAT, StoredEntry, details_of, stored_entry_hash
from app.security.tables import AuditChainHead, AuditEntry

GENESIS = ""
PAGE_SIZE = 50


def _plain(details: Mapping[str, object] | None) -> dict[str, object]:
    """Details as JSON data (what jsonb will give back), so hashing is stable."""
    result: dict[str, object] = json.loads(json.dumps(details or {}, default=str))
    return result


def in_tenant(tenant_id: UUID) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """Join the caller's transaction for this tenant, or open one."""
    return db.tenant_transaction(tenant_id)


class ChainHead(msgspec.Struct, frozen=True):
    """The last sequence number and hash of a tenant's audit chain."""

    seq: int
    hash: str


async def _lock_chain_head(tenant_id: UUID) -> ChainHead:
    """The tenant's chain head (seq, hash), created when missing and locked until the
    transaction ends (concurrent appends queue up, so the sequence has no gaps)."""
    await AuditChainHead.insert(AuditChainHead(tenant_id=tenant_id)).on_conflict(
        action="DO NOTHING"
    )
    head = await (
        AuditChainHead.select(AuditChainHead.seq, AuditChainHead.hash)
        .where(AuditChainHead.tenant_id == tenant_id)
        .lock_rows("UPDATE")
        .first()
    )
    assert head is not None
    return row_as(ChainHead, head)


async def record_audit(
    tenant_id: UUID,
    actor_id: UUID | None,
    action: str,
    target: str = "",
    details: Mapping[str, object] | None = None,
    *,
    actor_label: str = "",
) -> int:
    """Append an entry to the tenant's audit chain; returns its sequence number.

    Inside an open transaction for the same tenant it joins it (the entry commits or rolls
    back with the change it records); otherwise it runs in its own.
    """
    plain = _plain(details)
    async with in_tenant(tenant_id):
        head = await _lock_chain_head(tenant_id)
        seq = head.seq + 1
        entry: StoredEntry = {
            "tenant_id": tenant_id,
            "seq": seq,
            "created_at": datetime.now(UTC),
            "actor_id": actor_id,
            "actor_label": actor_label[:200],
            "action": action,
            "target": target,
            "details": json.dumps(plain),
            "prev_hash": head.hash,
            "format": FORMAT,
            "salt": secrets.token_hex(16),
            "personal_digest": None,
        }
        # hashed as verify_chain will check it, by the one function that reads entries back
        digest = stored_entry_hash(entry)
        assert digest is not None  # a new entry is complete, never erased
        await AuditEntry.insert(AuditEntry(id=uuid.uuid4(), hash=digest, **entry))
        await AuditChainHead.update({AuditChainHead.seq: seq, AuditChainHead.hash: digest}).where(
            AuditChainHead.tenant_id == tenant_id
        )
    return seq


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying one tenant's chain."""

    tenant_id: UUID
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


async def verify_chain(tenant_id: UUID, batch: int = 1000) -> ChainReport:
    """Walk the tenant's chain in order; report the first entry that does not check out."""
    prev, expected_seq, checked = GENESIS, 1, 0
    async with db.tenant_transaction(tenant_id):
        while True:
            rows = await (
                AuditEntry.select()
                .where((AuditEntry.tenant_id == tenant_id) & (AuditEntry.seq >= expected_seq))
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            for row in rows:
                seq = int(row["seq"])
                if seq != expected_seq:
                    return ChainReport(tenant_id, checked, expected_seq, "entry missing")
                if row["prev_hash"] != prev:
                    return ChainReport(
                        tenant_id, checked, seq, "link to the previous entry is broken"
                    )
                digest = stored_entry_hash(row)
                if digest is None or digest != row["hash"]:
                    return ChainReport(tenant_id, checked, seq, "entry was altered")
                prev, expected_seq, checked = row["hash"], seq + 1, checked + 1
            if len(rows) < batch:
                break
        head = await (
            AuditChainHead.select(AuditChainHead.seq, AuditChainHead.hash)
            .where(AuditChainHead.tenant_id == tenant_id)
            .first()
        )
    if head is not None and (int(head["seq"]) != checked or head["hash"] != prev):
        return ChainReport(tenant_id, checked, checked + 1, "entries after this were removed")
    return ChainReport(tenant_id, checked)


# --- reading: the admin page and the CSV export -------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked to see."""

    action: str = ""
    actor: str = ""  # matches the actor's label (name or email)
    text: str = ""  # matches the target
    since: datetime | None = None
    until: datetime | None = None

    def where(self, tenant_id: UUID) -> Combinable:
        """The tenant's entries that pass the filter."""
        clause: Combinable = AuditEntry.tenant_id == tenant_id
        if self.action:
            clause = clause & (AuditEntry.action == self.action)
        if self.actor:
            clause = clause & AuditEntry.actor_label.ilike(f"%{_like(self.actor)}%")
        if self.text:
            clause = clause & AuditEntry.target.ilike(f"%{_like(self.text)}%")
        if self.since is not None:
            clause = clause & (AuditEntry.created_at >= self.since)
        if self.until is not None:
            clause = clause & (AuditEntry.created_at < self.until)
        return clause


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_entries(
    tenant_id: UUID, flt: AuditFilter, page: int = 1
) -> tuple[list[dict[str, object]], bool]:
    """One page of entries, newest first; and whether there is a next page."""
    offset = (max(page, 1) - 1) * PAGE_SIZE
    async with db.tenant_transaction(tenant_id):
        rows = await (
            AuditEntry.select()
            .where(flt.where(tenant_id))
            .order_by(AuditEntry.seq, ascending=False)
            .limit(PAGE_SIZE + 1)
            .offset(offset)
        )
    entries = [dict(r, details=details_of(r["details"])) for r in rows[:PAGE_SIZE]]
    return entries, len(rows) > PAGE_SIZE


async def distinct_actions(tenant_id: UUID) -> list[str]:
    async with db.tenant_transaction(tenant_id):
        rows = await (
            AuditEntry.select(AuditEntry.action)
            .where(AuditEntry.tenant_id == tenant_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    return [str(r["action"]) for r in rows]


CSV_COLUMNS = ["seq", "created_at", "actor_id", "actor_label", "action", "target", "details"]


async def export_csv(tenant_id: UUID, flt: AuditFilter) -> AsyncIterator[str]:
    """The filtered log as CSV, oldest first, streamed in batches; includes the hashes."""
    header = io.StringIO()
    csv.writer(header).writerow([*CSV_COLUMNS, "prev_hash", "hash"])
    yield header.getvalue()
    after = 0
    while True:
        async with db.tenant_transaction(tenant_id):
            rows = await (
                AuditEntry.select()
                .where(flt.where(tenant_id) & (AuditEntry.seq > after))
                .order_by(AuditEntry.seq)
                .limit(1000)
            )
        if not rows:
            return
        out = io.StringIO()
        writer = csv.writer(out)
        for r in rows:
            writer.writerow(
                [
                    r["seq"],
                    r["created_at"].astimezone(UTC).isoformat(),
                    r["actor_id"] or "",
                    safe_cell(r["actor_label"]),
                    r["action"],
                    safe_cell(r["target"]),
                    safe_cell(json.dumps(details_of(r["details"]), sort_keys=True)),
                    r["prev_hash"],
                    r["hash"],
                ]
            )
        yield out.getvalue()
        after = int(rows[-1]["seq"])


async def verify_all(tenant_id: UUID | None = None) -> list[ChainReport]:
    """Verify one tenant's chain, or every tenant's."""
    ids = [tenant_id] if tenant_id else await all_tenant_ids()
    return [await verify_chain(t) for t in ids]


def audit_verify_command(tenant: str | None) -> int:
    """`odex audit-verify`: print each tenant's result; exit status 1 if a chain is broken."""
    import asyncio

    async def run() -> list[ChainReport]:
        await db.start_pool(max_size=2)
        try:
            return await verify_all(UUID(tenant) if tenant else None)
        finally:
            await db.close_pool()

    broken = 0
    for report in asyncio.run(run()):
        if report.ok:
            print(f"{report.tenant_id}: ok ({report.checked} entries)")
        else:
            broken += 1
            print(
                f"{report.tenant_id}: BROKEN at entry {report.broken_seq}: {report.reason}"
                f" ({report.checked} entries before it verified)"
            )
    return 1 if broken else 0
