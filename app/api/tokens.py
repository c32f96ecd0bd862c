"""API tokens: issued per membership with scopes and an expiry, shown once, stored as a keyed
hash (HMAC-SHA256 with the app's secret), listed with their last use, revocable.

A raw token reads `odx_<workspace id, hex>_<secret>`: the workspace part lets the lookup run
inside that workspace's tenant transaction (RLS), so a token can only ever find rows of the
workspace it was issued in. Issuing and revoking are audited; uses record `last_used_at`
(at most once a minute, so reads don't write on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from app.accounts.schemas import Current
from app.accounts.tables import Membership
from app.api.tables import ApiToken
from app.core.db import tenant_transaction
from app.core.errors import FormInvalid, RecordNotFound
from app.core.rows import row_as, rows_as
from app.security.audit import record_audit
from app.settings import get_settings

PREFIX = "odx_"
# the objects a token may reach; each with a read and a write scope ("contacts:write")
OBJECTS = ("contacts", "companies", "deals", "pipelines", "notes", "tasks", "invoices")
ACCESS = ("read", "write")
ALL_SCOPES = tuple(f"{o}:{a}" for o in OBJECTS for a in ACCESS)
# objects the API only reads (their write scope is offered nowhere)
READ_ONLY = ("pipelines",)
OFFERED = tuple(s for s in ALL_SCOPES if s.split(":")[0] not in READ_ONLY or s.endswith(":read"))
EXPIRY_DAYS = (7, 30, 90, 365)
USE_RECORD_EVERY = timedelta(minutes=1)


class TokenInfo(msgspec.Struct, frozen=True):
    """A token as its owner sees it in settings (never the secret)."""

    id: UUID
    name: str
    hint: str
    scopes: list[str]
    rate_per_minute: int
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > datetime.now(UTC)


class TokenHolder(msgspec.Struct, frozen=True):
    """What a presented token resolves to: whose, in which workspace, allowed what."""

    id: UUID
    tenant_id: UUID
    user_id: UUID
    membership_id: UUID
    scopes: list[str]
    rate_per_minute: int
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(raw: str) -> str:
    """The stored form of a raw token: a keyed hash, useless without the app's secret."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"api-token:" + raw.encode(), hashlib.sha256).hexdigest()


def workspace_of(raw: str) -> UUID | None:
    """The workspace a raw token names (None when it isn't shaped like one of ours)."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    head, _, secret = raw[len(PREFIX) :].partition("_")
    if len(head) != 32 or not secret:
        return None
    try:
        return UUID(hex=head)
    except ValueError:
        return None


def allows(scopes: list[str], obj: str, access: str) -> bool:
    """Whether `scopes` let a token `access` ("read"/"write") `obj`; write includes read."""
    return f"{obj}:{access}" in scopes or (access == "read" and f"{obj}:write" in scopes)


def clean_scopes(chosen: list[str]) -> list[str]:
    """The chosen scopes in the one order, unknown ones refused (422)."""
    unknown = [s for s in chosen if s not in OFFERED]
    if unknown:
        raise FormInvalid({"scopes": "Choose scopes from the list."})
    if not chosen:
        raise FormInvalid({"scopes": "Choose at least one scope."})
    return [s for s in ALL_SCOPES if s in chosen]


async def issue_token(
    current: Current, name: str, scopes: list[str], days: int, rate_per_minute: int = 600
) -> tuple[str, UUID]:
    """Create a token for the signed-in member; returns the raw value (shown once) and its id."""
    chosen = clean_scopes(scopes)
    if days not in EXPIRY_DAYS:
        raise FormInvalid({"days": "Choose when the token expires."})
    raw = f"{PREFIX}{current.tenant_id.hex}_{secrets.token_urlsafe(32)}"
    token_id = uuid.uuid4()
    async with tenant_transaction(current.tenant_id, current.user_id):
        membership = (
            await Membership.select(Membership.id)
            .where(
                (Membership.tenant_id == current.tenant_id)
                & (Membership.user_id == current.user_id)
            )
            .first()
        )
        if membership is None:
            raise RecordNotFound("membership")
        await ApiToken.insert(
            ApiToken(
                id=token_id,
                tenant_id=current.tenant_id,
                membership_id=membership["id"],
                user_id=current.user_id,
                name=name,
                token_hash=token_hash(raw),
                hint=raw[-4:],
                scopes=chosen,
                rate_per_minute=rate_per_minute,
                expires_at=datetime.now(UTC) + timedelta(days=days),
                created_at=datetime.now(UTC),
            )
        )
        await record_audit(
            current.tenant_id,
            current.user_id,
            "api_token.created",
            f"api_token:{token_id}",
            {"name": name, "scopes": chosen, "expires_in_days": days},
            actor_label=current.email,
        )
    return raw, token_id


async def list_tokens(current: Current) -> list[TokenInfo]:
    """The signed-in member's tokens in this workspace, newest first."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        rows = (
            await ApiToken.select()
            .where(
                (ApiToken.tenant_id == current.tenant_id) & (ApiToken.user_id == current.user_id)
            )
            .order_by(ApiToken.created_at, ascending=False)
        )
    return rows_as(TokenInfo, rows)


async def revoke_token(current: Current, token_id: UUID) -> None:
    """Revoke one of the member's own tokens (another's, or another workspace's: not found)."""
    async with tenant_transaction(current.tenant_id, current.user_id):
        revoked = await (
            ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
            .where(
                (ApiToken.id == token_id)
                & (ApiToken.user_id == current.user_id)
                & (ApiToken.tenant_id == current.tenant_id)
                & ApiToken.revoked_at.is_null()
            )
            .returning(ApiToken.name)
        )
        if not revoked:
            raise RecordNotFound("api token")
        await record_audit(
            current.tenant_id,
            current.user_id,
            "api_token.revoked",
            f"api_token:{token_id}",
            {"name": revoked[0]["name"]},
            actor_label=current.email,
        )


async def holder_of(raw: str) -> tuple[TokenHolder | None, str]:
    """The token `raw` names, if it may be used now; else None and why (for the 401)."""
    tenant_id = workspace_of(raw)
    if tenant_id is None:
        return None, "The API token is missing or malformed."
    async with tenant_transaction(tenant_id) as conn:
        row = (
            await ApiToken.select()
            .where((ApiToken.tenant_id == tenant_id) & (ApiToken.token_hash == token_hash(raw)))
            .first()
        )
        if row is None:
            return None, "The API token is not valid."
        holder = row_as(TokenHolder, row)
        if holder.revoked_at is not None:
            return None, "The API token was revoked."
        now = datetime.now(UTC)
        if holder.expires_at <= now:
            return None, "The API token has expired."
        if holder.last_used_at is None or holder.last_used_at < now - USE_RECORD_EVERY:
            await conn.execute(
                "update api_tokens set last_used_at = now() where id = $1", holder.id
            )
    return holder, ""
