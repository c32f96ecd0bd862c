"""Finding an account by its address, the one home of it (addresses match in any case)."""

from __future__ import annotations

from uuid import UUID

from app.accounts.queries import AccountRow, user_with_email
from app.core import db
from app.core.db import global_transaction

MAX_EMAIL = 254  # longer is no address (RFC 5321): not looked up


async def user_by_email(email: str) -> AccountRow | None:
    """The account with this address, or None; runs in the open (global) transaction."""
    if not email or len(email) > MAX_EMAIL:
        return None
    return await user_with_email(db.connection(), email.strip())


async def user_id_by_email(email: str) -> UUID | None:
    """The id of the account with this address, or None (in a transaction of its own)."""
    async with global_transaction():
        user = await user_by_email(email)
    return user.id if user else None
