"""The SQL of editing a webhook subscription: lock it as the editor saw it, save a new
address, events and scopes at its version (its pending bodies cut again to narrower scopes),
rotate its signing secret (the old one kept for the overlap).
Inside a tenant transaction (RLS); every statement names the tenant too."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import maybe_row_as


class Editable(msgspec.Struct):
    """A subscription locked for an edit or a rotation."""

    url: str
    events: list[str]
    scopes: list[str]
    personal_data: bool
    description: str
    secret_enc: str
    version: int


async def lock_hook(conn: asyncpg.Connection, tenant_id: UUID, hook_id: UUID) -> Editable | None:
    row = await conn.fetchrow(
        "select url, events, scopes, personal_data, description, secret_enc, version"
        " from webhook_subscriptions"
        " where tenant_id = $1 and id = $2 for update",
        tenant_id,
        hook_id,
    )
    return maybe_row_as(Editable, row)


async def update_hook(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    hook_id: UUID,
    version: int,
    url: str,
    events: list[str],
    scopes: list[str],
    personal_data: bool,
    description: str,
) -> bool:
    """Save an edit made from `version` (bumping it); False when the row moved on."""
    result = await conn.execute(
        "update webhook_subscriptions set url = $4, events = $5, scopes = $6,"
        " personal_data = $7, description = $8, version = version + 1, updated_at = now()"
        " where tenant_id = $1 and id = $2 and version = $3",
        tenant_id,
        hook_id,
        version,
        url,
        events,
        scopes,
        personal_data,
        description,
    )
    return bool(result != "UPDATE 0")


async def rotate_secret(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    hook_id: UUID,
    version: int,
    sealed: tuple[str, str],  # the new secret, the replaced one (each sealed to its column)
    overlap_seconds: float,
) -> datetime | None:
    """Put a new secret in place, keeping the replaced one for `overlap_seconds`; until when
    (None when the row moved on since `version`)."""
    until: datetime | None = await conn.fetchval(
        "update webhook_subscriptions set secret_enc = $4, previous_secret_enc = $5,"
        " previous_secret_until = now() + make_interval(secs => $6),"
        " version = version + 1, updated_at = now()"
        " where tenant_id = $1 and id = $2 and version = $3 returning previous_secret_until",
        tenant_id,
        hook_id,
        version,
        sealed[0],
        sealed[1],
        overlap_seconds,
    )
    return until
