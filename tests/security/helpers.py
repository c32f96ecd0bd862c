"""Helpers for the security tests: team members seeded directly, browsers with a user agent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.core.db import tenant_transaction
from app.security.passwords import hash_password
from tests.helpers import PASSWORD, Account, BrowserClient, browser_client

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)
_HASH = hash_password(PASSWORD)


async def add_member(account: Account, role: str = "member", tag: str = "colleague") -> Account:
    """A verified user with `role` in the account's workspace (same password as the owner)."""
    user_id = uuid.uuid4()
    email = f"{tag}-{uuid.uuid4().hex[:10]}@example.com"
    name = f"{tag.title()} {email[-20:-12]}"
    async with tenant_transaction(account.tenant_id, user_id) as conn:
        await conn.execute(
            "insert into users (id, email, name, password_hash, email_verified_at)"
            " values ($1, $2, $3, $4, now())",
            user_id,
            email,
            name,
            _HASH,
        )
        await conn.execute(
            "insert into memberships (id, tenant_id, user_id, role) values ($1, $2, $3, $4)",
            uuid.uuid4(),
            account.tenant_id,
            user_id,
            role,
        )
    return Account(user_id, account.tenant_id, email, PASSWORD, name, account.company)


@asynccontextmanager
async def browser(app: Any, user_agent: str) -> AsyncIterator[BrowserClient]:
    async with browser_client(app) as client:
        client.headers["user-agent"] = user_agent
        yield client
