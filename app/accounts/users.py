"""Finding an account by its address, the one home of it (addresses match in any case)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.accounts.tables import User
from app.core.db import global_transaction

MAX_EMAIL = 254  # longer is no address (RFC 5321): not looked up


async def user_by_email(email: str) -> dict[str, Any] | None:
    """The account with this address, or None; runs in the open (global) transaction."""
    if not email or len(email) > MAX_EMAIL:
        return None
    rows = await User.raw("select * from users where lower(email) = lower({})", email.strip())
    return rows[0] if rows else None


async def user_id_by_email(email: str) -> UUID | None:
    """The id of the account with this address, or None (in a transaction of its own)."""
    async with global_transaction():
        user = await user_by_email(email)
    return UUID(str(user["id"])) if user else None
