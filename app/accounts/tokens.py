"""Single-use mailed tokens: only a SHA-256 hash is stored; redeeming marks it used atomically."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from app.accounts.tables import EmailToken
from app.core.errors import FormInvalid
from app.core.rows import row_as


class TokenRow(msgspec.Struct, frozen=True):
    """A stored mailed token (its hash, what it is for and whom)."""

    token_hash: str
    purpose: str
    user_id: UUID | None
    target_tenant_id: UUID | None
    ref_id: UUID | None
    email: str
    expires_at: datetime
    used_at: datetime | None
    created_at: datetime


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_token(
    purpose: str,
    email: str,
    ttl: timedelta,
    *,
    user_id: UUID | None = None,
    tenant_id: UUID | None = None,
    ref_id: UUID | None = None,
) -> str:
    """Store a new token (inside the caller's transaction) and return its raw value."""
    raw = secrets.token_urlsafe(32)
    await EmailToken.insert(
        EmailToken(
            token_hash=_hash(raw),
            purpose=purpose,
            email=email,
            user_id=user_id,
            target_tenant_id=tenant_id,
            ref_id=ref_id,
            expires_at=datetime.now(UTC) + ttl,
        )
    )
    return raw


MESSAGES = {
    "missing": "This link is not valid. Check that you copied the whole link from the email.",
    "used": "This link was already used. Ask for a new one if you still need it.",
    "expired": "This link has expired. Ask for a new one below.",
}


async def peek_token(raw: str, purpose: str) -> TokenRow:
    """Look at a token without using it; raises FormInvalid(token=…) if it can't be used."""
    row = (
        await EmailToken.select()
        .where((EmailToken.token_hash == _hash(raw)) & (EmailToken.purpose == purpose))
        .first()
        if raw and len(raw) < 200
        else None
    )
    if row is None:
        raise FormInvalid({"token": MESSAGES["missing"]})
    token = row_as(TokenRow, row)
    if token.used_at is not None:
        raise FormInvalid({"token": MESSAGES["used"]})
    if token.expires_at <= datetime.now(UTC):
        raise FormInvalid({"token": MESSAGES["expired"]})
    return token


async def redeem_token(raw: str, purpose: str) -> TokenRow:
    """Use a token once (inside the caller's transaction); a second use is refused."""
    row = await peek_token(raw, purpose)
    used = (
        await EmailToken.update({EmailToken.used_at: datetime.now(UTC)})
        .where((EmailToken.token_hash == row.token_hash) & EmailToken.used_at.is_null())
        .returning(EmailToken.token_hash)
    )
    if not used:  # a concurrent request won the race
        raise FormInvalid({"token": MESSAGES["used"]})
    return row


async def void_tokens(user_id: UUID, purpose: str) -> None:
    """Retire a user's unused tokens of one purpose (a new reset link voids the old ones)."""
    await EmailToken.update({EmailToken.used_at: datetime.now(UTC)}).where(
        (EmailToken.user_id == user_id)
        & (EmailToken.purpose == purpose)
        & EmailToken.used_at.is_null()
    )
