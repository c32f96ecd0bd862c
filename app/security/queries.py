"""The security domain's SQL that Piccolo cannot say well, as named typed functions: row
locks, upserts, batch inserts and pattern searches. Ordinary single-table reads and writes go
through the Piccolo tables (app/security/tables.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import asyncpg
import msgspec

from app.core.crypto import EncryptedColumn
from app.core.rows import fetch_as, fetch_one_as, fetch_value
from app.security.tables import TenantSecurity, UserMfa


class PendingSecret(msgspec.Struct, frozen=True):
    """A user's TOTP secret (ciphertext) and the last time step used."""

    secret_enc: str
    last_step: int


async def lock_secret(
    conn: asyncpg.Connection, user_id: UUID, *, enabled: bool
) -> PendingSecret | None:
    """The user's TOTP secret, locked: the enabled one, or the pending one (enabled=False)."""
    state = "is not null" if enabled else "is null"
    return await fetch_one_as(
        conn,
        PendingSecret,
        "select secret_enc, last_step from user_mfa where user_id = $1"
        f" and enabled_at {state} for update",
        user_id,
    )


async def store_pending_secret(user_id: UUID, secret_enc: str) -> None:
    """A new pending secret, replacing an unconfirmed one (never an enabled one)."""
    await UserMfa.insert(UserMfa(user_id=user_id, secret_enc=secret_enc)).on_conflict(
        target=UserMfa.user_id,
        action="DO UPDATE",
        values=[UserMfa.secret_enc, (UserMfa.last_step, 0)],
        where=UserMfa.enabled_at.is_null(),
    )


async def replace_recovery_codes(
    conn: asyncpg.Connection, user_id: UUID, code_hashes: list[str]
) -> None:
    """The user's recovery codes become exactly these (keyed hashes)."""
    await conn.execute("delete from mfa_recovery_codes where user_id = $1", user_id)
    await conn.executemany(
        "insert into mfa_recovery_codes (id, user_id, code_hash) values ($1, $2, $3)",
        [(uuid.uuid4(), user_id, h) for h in code_hashes],
    )


async def set_owner_mfa_rule(tenant_id: UUID, required: bool) -> None:
    """Upsert the workspace's "MFA required for owners" setting."""
    rule = TenantSecurity(
        tenant_id=tenant_id, mfa_required_for_owners=required, updated_at=datetime.now(UTC)
    )
    await TenantSecurity.insert(rule).on_conflict(
        target=TenantSecurity.tenant_id,
        action="DO UPDATE",
        values=[TenantSecurity.mfa_required_for_owners, TenantSecurity.updated_at],
    )


S = TypeVar("S", bound=msgspec.Struct)


class Naming(msgspec.Struct, frozen=True):
    """Where a person can be named in one table: their id in `ids`, or their name or address
    in `texts` (read as text, so JSON details are searched too)."""

    table: str
    ids: tuple[str, ...]
    texts: tuple[str, ...]
    only: str = "true"  # which of the table's rows are searched at all


AUDIT_NAMING = Naming(
    "audit_log",
    ("actor_id",),
    ("actor_label", "target", "details"),
    only="format = 2 and personal_digest is null",  # format-2 entries not yet erased
)
ALERTS_NAMING = Naming(
    "security_alerts", ("actor_id", "subject_user_id", "acknowledged_by"), ("summary", "details")
)


async def rows_naming(
    conn: asyncpg.Connection,
    where: Naming,
    row: type[S],
    user_id: UUID | None,
    patterns: list[str],
    *,
    lock: bool = False,
) -> list[S]:
    """The rows of `where.table` that name the person, by id ($1) or by any of the ILIKE
    `patterns` ($2), as `row` (its fields are the columns, each read as the Struct types it:
    JSON details arrive as their text); locked for update when `lock`."""
    texts = set(where.texts)
    columns = ", ".join(
        f"{name}::text as {name}" if name in texts else name for name in row.__struct_fields__
    )
    naming = [f"{c} = $1" for c in where.ids] + [
        f"{c}::text ilike any($2::text[])" for c in where.texts
    ]
    sql = f"select {columns} from {where.table} where {where.only} and ({' or '.join(naming)})" + (
        " for update" if lock else ""
    )
    return await fetch_as(conn, row, sql, user_id, patterns)


class ErasableEntry(msgspec.Struct, frozen=True):
    """An audit entry's personal fields, for erasing a person."""

    id: UUID
    salt: str | None
    actor_id: UUID | None
    actor_label: str
    target: str
    details: str


class AlertText(msgspec.Struct, frozen=True):
    """An alert's texts naming a person, for anonymising."""

    id: UUID
    summary: str
    details: str


async def anonymise_alert(
    conn: asyncpg.Connection,
    alert_id: UUID,
    summary: str,
    details_json: str,
    user_id: UUID | None,
) -> None:
    """Replace an alert's texts and drop the person's ids (and their session's key)."""
    await conn.execute(
        "update security_alerts set summary = $2, details = $3::jsonb,"
        " actor_id = nullif(actor_id, $4), subject_user_id ="
        " nullif(subject_user_id, $4), acknowledged_by = nullif(acknowledged_by, $4),"
        " session_key = case when actor_id = $4 then null else session_key end"
        " where id = $1",
        alert_id,
        summary,
        details_json,
        user_id,
    )


async def open_alert_count(conn: asyncpg.Connection) -> int:
    """The workspace's alerts no admin has acknowledged (plain SQL, no query building)."""
    return await fetch_value(
        conn, int, "select count(*) from security_alerts where acknowledged_at is null"
    )


async def open_alert_count_scoped(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID) -> int:
    """`open_alert_count` as one statement that sets its RLS scope itself (migrations/security,
    1.45.0; the header's badge, once per page an admin opens): run it with `db.self_scoped`,
    one round trip in all."""
    return await fetch_value(conn, int, "select odex_open_alert_count($1, $2)", tenant_id, user_id)


async def insert_alert(
    conn: asyncpg.Connection,
    alert_id: UUID,
    tenant_id: UUID,
    kind: str,
    actor: UUID | None,
    subject: UUID | None,
    summary: str,
    details_json: str,
    session_key: str | None,
) -> dict[str, object]:
    """Store an alert (created_at from the database's clock); the row as stored."""
    row = await conn.fetchrow(
        "insert into security_alerts (id, tenant_id, kind, actor_id, subject_user_id,"
        " summary, details, session_key) values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)"
        " returning *",
        alert_id,
        tenant_id,
        kind,
        actor,
        subject,
        summary,
        details_json,
        session_key,
    )
    assert row is not None  # an insert returning answers its row
    return dict(row)


async def lock_alert(conn: asyncpg.Connection, alert_id: UUID) -> Mapping[str, object] | None:
    """An alert's row, locked for an acknowledgement or a session revoke."""
    row = await conn.fetchrow("select * from security_alerts where id = $1 for update", alert_id)
    return None if row is None else dict(row)


# ---- key rotation (table and column names come from the registry, checked identifiers) ----

RowKey = UUID | str | int
Encrypted = str | list[str]


async def stale_encrypted_values(
    conn: asyncpg.Connection, col: EncryptedColumn, current: str, batch: int, after: RowKey | None
) -> list[tuple[RowKey, Encrypted]]:
    """Up to `batch` rows of a registered column (after key `after`) holding a value not yet
    prefixed `current`, locked (other rotators skip them): (row key, value)."""
    if col.is_array:
        stale = (
            f"exists (select 1 from unnest({col.column}) as e(v)"
            " where v <> '' and left(v, $1) <> $2)"
        )
    else:
        stale = f"{col.column} <> '' and left({col.column}, $1) <> $2"
    after_sql = f"and {col.key} > $4 " if after is not None else ""
    args: list[object] = [len(current), current, batch] + ([after] if after is not None else [])
    rows = await conn.fetch(
        f"select {col.key} as k, {col.column} as v from {col.table} "
        f"where {col.column} is not null and {stale} {after_sql}"
        f"order by {col.key} limit $3 for update skip locked",
        *args,
    )
    return [(r["k"], r["v"]) for r in rows]


async def write_encrypted_values(
    conn: asyncpg.Connection, col: EncryptedColumn, updates: list[tuple[RowKey, Encrypted]]
) -> None:
    """Store re-encrypted values of a registered column by row key."""
    await conn.executemany(
        f"update {col.table} set {col.column} = $2 where {col.key} = $1", updates
    )
