"""The audit log: append-only, hash-chained per tenant, verifiable, filterable, exportable.

Each entry's hash is SHA-256 over a canonical JSON of its fields and the previous entry's
hash. Appends lock the tenant's chain head row (FOR UPDATE), so concurrent writers queue up
and the sequence has no gaps. odex_app may not delete entries nor change them, except to erase
a person (`erase_person`); `verify_chain` finds the first entry whose content, order or link
was changed.

Format 2 entries (every entry written now) hash a salted digest of their personal fields
(actor id and label, target, details) rather than the fields themselves. Erasing a person who
deleted their account blanks those fields, drops the salt and keeps the digest, so the chain
still verifies; any other change to an entry breaks it. Format 1 entries (older) hash the
fields directly and can't be erased.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core import db
from app.core.datamap import like_any
from app.core.spreadsheet import safe_cell

GENESIS = ""
PAGE_SIZE = 50


def _plain(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details as JSON data (what jsonb will give back), so hashing is stable."""
    result: dict[str, Any] = json.loads(json.dumps(details or {}, default=str))
    return result


def entry_hash(
    *,
    tenant_id: UUID,
    seq: int,
    created_at: datetime,
    actor_id: UUID | None,
    actor_label: str,
    action: str,
    target: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) that links an entry into its tenant's chain."""
    canonical = json.dumps(
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
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


FORMAT = 2
ERASED_TARGET = ""


def personal_digest(
    salt: str, actor_id: UUID | None, actor_label: str, target: str, details: dict[str, Any]
) -> str:
    """The salted SHA-256 of an entry's personal fields (what a format 2 hash covers)."""
    canonical = json.dumps(
        {
            "salt": salt,
            "actor_id": str(actor_id) if actor_id else None,
            "actor_label": actor_label,
            "target": target,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    canonical = json.dumps(
        {
            "format": 2,
            "tenant_id": str(tenant_id),
            "seq": seq,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": action,
            "personal": personal,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@asynccontextmanager
async def in_tenant(tenant_id: UUID) -> AsyncIterator[asyncpg.Connection]:
    """Join the caller's transaction for this tenant, or open one."""
    scope = db._scope.get()  # the open transaction's (tenant, user), if any
    if scope is not None and scope[0] == tenant_id:
        txn = db.engine().current_transaction.get()
        assert txn is not None
        yield txn.connection
        return
    async with db.tenant_transaction(tenant_id) as conn:
        yield conn


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


def _details_of(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        parsed: dict[str, Any] = json.loads(value)
        return parsed
    return dict(value or {})


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
                digest = _stored_entry_hash(row)
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


def _stored_entry_hash(row: Any) -> str | None:
    """The hash an entry read back should have (None: an erasure that changed more than the
    personal fields, or left them readable)."""
    details = _details_of(row["details"])
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
            rows = await conn.fetch(
                "select id, salt, actor_id, actor_label, target, details from audit_log"
                " where format = 2 and personal_digest is null and (actor_id = $1"
                " or actor_label ilike any($2::text[]) or target ilike any($2::text[])"
                " or details::text ilike any($2::text[])) for update",
                user_id,
                patterns,
            )
            for row in rows:
                digest = personal_digest(
                    str(row["salt"]),
                    row["actor_id"],
                    row["actor_label"],
                    row["target"],
                    _details_of(row["details"]),
                )
                await conn.execute(
                    "update audit_log set actor_id = null, actor_label = '', target = $2,"
                    " details = '{}'::jsonb, salt = null, personal_digest = $3,"
                    " erased_at = now() where id = $1",
                    row["id"],
                    ERASED_TARGET,
                    digest,
                )
            erased += len(rows)
    return erased


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
    entries = [dict(r, details=_details_of(r["details"])) for r in rows[:PAGE_SIZE]]
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
                    safe_cell(json.dumps(_details_of(r["details"]), sort_keys=True)),
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
