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
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core import db
from app.core.spreadsheet import safe_cell
from app.security.audit_chain import (
    FORMAT,
    details_of,
    entry_hash_v2,
    personal_digest,
    stored_entry_hash,
)

GENESIS = ""
PAGE_SIZE = 50


def _plain(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details as JSON data (what jsonb will give back), so hashing is stable."""
    result: dict[str, Any] = json.loads(json.dumps(details or {}, default=str))
    return result


def in_tenant(tenant_id: UUID) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """Join the caller's transaction for this tenant, or open one."""
    return db.tenant_transaction(tenant_id)


async def record_audit(
    tenant_id: UUID,
    actor_id: UUID | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    *,
    actor_label: str = "",
) -> int:
    """Append an entry to the tenant's audit chain; returns its sequence number.

    Inside an open transaction for the same tenant it joins it (the entry commits or rolls
    back with the change it records); otherwise it runs in its own.
    """
    plain = _plain(details)
    async with in_tenant(tenant_id) as conn:
        await conn.execute(
            "insert into audit_chain_heads (tenant_id) values ($1) on conflict do nothing",
            tenant_id,
        )
        head = await conn.fetchrow(
            "select seq, hash from audit_chain_heads where tenant_id = $1 for update", tenant_id
        )
        assert head is not None
        seq, prev = int(head["seq"]) + 1, str(head["hash"])
        created_at = datetime.now(UTC)
        salt = secrets.token_hex(16)
        label = actor_label[:200]
        digest = entry_hash_v2(
            tenant_id=tenant_id,
            seq=seq,
            created_at=created_at,
            action=action,
            personal=personal_digest(salt, actor_id, label, target, plain),
            prev_hash=prev,
        )
        await conn.execute(
            "insert into audit_log (id, tenant_id, seq, created_at, actor_id, actor_label,"
            " action, target, details, prev_hash, hash, format, salt)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13)",
            uuid.uuid4(),
            tenant_id,
            seq,
            created_at,
            actor_id,
            label,
            action,
            target,
            json.dumps(plain),
            prev,
            digest,
            FORMAT,
            salt,
        )
        await conn.execute(
            "update audit_chain_heads set seq = $2, hash = $3 where tenant_id = $1",
            tenant_id,
            seq,
            digest,
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
    async with db.tenant_transaction(tenant_id) as conn:
        while True:
            rows = await conn.fetch(
                "select * from audit_log where tenant_id = $1 and seq >= $2 order by seq limit $3",
                tenant_id,
                expected_seq,
                batch,
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
        head = await conn.fetchrow(
            "select seq, hash from audit_chain_heads where tenant_id = $1", tenant_id
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

    def where(self, start: int = 2) -> tuple[str, list[Any]]:
        clauses: list[str] = ["true"]
        args: list[Any] = []
        for sql, value in (
            ("action = ${}", self.action or None),
            ("actor_label ilike ${}", f"%{_like(self.actor)}%" if self.actor else None),
            ("target ilike ${}", f"%{_like(self.text)}%" if self.text else None),
            ("created_at >= ${}", self.since),
            ("created_at < ${}", self.until),
        ):
            if value is not None:
                clauses.append(sql.format(start + len(args)))
                args.append(value)
        return " and ".join(clauses), args


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_entries(
    tenant_id: UUID, flt: AuditFilter, page: int = 1
) -> tuple[list[dict[str, Any]], bool]:
    """One page of entries, newest first; and whether there is a next page."""
    where, args = flt.where()
    offset = (max(page, 1) - 1) * PAGE_SIZE
    async with db.tenant_transaction(tenant_id) as conn:
        rows = await conn.fetch(
            f"select * from audit_log where tenant_id = $1 and {where}"
            f" order by seq desc limit {PAGE_SIZE + 1} offset {offset}",
            tenant_id,
            *args,
        )
    entries = [dict(r, details=details_of(r["details"])) for r in rows[:PAGE_SIZE]]
    return entries, len(rows) > PAGE_SIZE


async def distinct_actions(tenant_id: UUID) -> list[str]:
    async with db.tenant_transaction(tenant_id) as conn:
        rows = await conn.fetch(
            "select distinct action from audit_log where tenant_id = $1 order by action",
            tenant_id,
        )
    return [r["action"] for r in rows]


CSV_COLUMNS = ["seq", "created_at", "actor_id", "actor_label", "action", "target", "details"]


async def export_csv(tenant_id: UUID, flt: AuditFilter) -> AsyncIterator[str]:
    """The filtered log as CSV, oldest first, streamed in batches; includes the hashes."""
    where, args = flt.where(start=3)
    header = io.StringIO()
    csv.writer(header).writerow([*CSV_COLUMNS, "prev_hash", "hash"])
    yield header.getvalue()
    after = 0
    while True:
        async with db.tenant_transaction(tenant_id) as conn:
            rows = await conn.fetch(
                f"select * from audit_log where tenant_id = $1 and seq > $2 and {where}"
                " order by seq limit 1000",
                tenant_id,
                after,
                *args,
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
    from app.security.crypto import all_tenant_ids

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
