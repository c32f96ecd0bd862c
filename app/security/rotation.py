"""Re-encryption: the `rotate_field_keys` job brings every registered column to ``enc2`` under the
newest key, each value bound to its row (app/core/crypto.py).

Tenant by tenant, in committed batches, walking each table by its key: a run that dies is
finished by the next, which only finds what is left (rows already ``enc2`` under the newest
key are never selected). A value that can't be opened where it is (moved there, or its key
gone) is left as it is and logged.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from app.core.crypto import (
    ENCRYPTED_COLUMNS,
    ENCRYPTION_MODULES,
    PREFIX2,
    Binding,
    DecryptionError,
    EncryptedColumn,
    KeyRing,
    all_tenant_ids,
    bind,
    decrypt_text,
    encrypt_text,
    is_encrypted,
    key_ring,
)
from app.security import queries
from app.security.queries import Encrypted, RowKey

log = logging.getLogger("odex.crypto")

ROTATION_BATCH = 500


def _reencrypt(value: str, ring: KeyRing, binding: Binding) -> str:
    """As ``enc2`` under the newest key, bound to its place (plaintext left from before
    encryption gets encrypted too)."""
    plain = decrypt_text(value, ring=ring, binding=binding) if is_encrypted(value) else value
    return encrypt_text(plain, ring=ring, binding=binding)


@dataclass
class RotationStats:
    """What a rotation pass did: values rewritten, and rows it could not open (left as they
    were and logged: a value moved into a row it doesn't belong to, or a key missing)."""

    rewritten: int = 0
    refused: int = 0


async def _rotate_batch(
    conn: asyncpg.Connection,
    col: EncryptedColumn,
    ring: KeyRing,
    batch: int,
    tenant: UUID | None,
    after: RowKey | None,
    stats: RotationStats,
) -> RowKey | None:
    """Re-encrypt up to `batch` rows after key `after` that are not yet ``enc2`` under the
    newest key; returns the last key looked at (None when there were no more rows)."""
    current = f"{PREFIX2}:{ring.current_id}:"
    rows = await queries.stale_encrypted_values(conn, col, current, batch, after)
    updates: list[tuple[RowKey, Encrypted]] = []
    for key, value in rows:
        where = bind(col.table, col.column, key, tenant)
        try:
            new: Encrypted
            if isinstance(value, list):
                new = [_reencrypt(v, ring, where) if v else v for v in value]
            else:
                new = _reencrypt(value, ring, where)
        except DecryptionError as exc:
            stats.refused += 1
            log.warning("rotation: %s.%s row %s refused: %s", col.table, col.column, key, exc)
            continue
        updates.append((key, new))
    if updates:
        await queries.write_encrypted_values(conn, col, updates)
    stats.rewritten += len(updates)
    return rows[-1][0] if len(rows) == batch else None


async def rotate_column(
    col: EncryptedColumn, batch: int = ROTATION_BATCH, stats: RotationStats | None = None
) -> int:
    """Re-encrypt one column everywhere, one committed batch at a time; returns how many rows
    were rewritten. Restartable: a second run only finds what the first did not finish (rows
    already ``enc2`` under the newest key are never selected)."""
    from app.core.db import global_transaction, tenant_transaction

    ring = key_ring()
    stats = stats if stats is not None else RotationStats()
    before = stats.rewritten
    scopes: list[UUID | None] = list(await all_tenant_ids()) if col.tenant_scoped else [None]
    for tenant_id in scopes:
        after: RowKey | None = None
        while True:
            transaction = (
                tenant_transaction(tenant_id) if tenant_id is not None else global_transaction()
            )
            async with transaction as conn:
                after = await _rotate_batch(conn, col, ring, batch, tenant_id, after, stats)
            if after is None:
                break
    return stats.rewritten - before


async def rotate_field_keys(
    ctx: dict[str, object] | None = None, batch: int = ROTATION_BATCH
) -> int:
    """arq job: bring every registered column to ``enc2`` under the newest key (bound to its
    row); returns rows rewritten. Resumable: each batch commits, a rerun continues."""
    _import_registrations()
    stats = RotationStats()
    for col in list(ENCRYPTED_COLUMNS):
        await rotate_column(col, batch, stats)
    if stats.refused:
        log.error("rotation: %d values could not be opened where they are", stats.refused)
    return stats.rewritten


def _import_registrations() -> None:
    """Import the modules that register encrypted columns (so the job sees all of them)."""
    for module in ENCRYPTION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a domain not built yet (but not a broken import)
            if exc.name != module:
                raise
