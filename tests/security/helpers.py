"""Helpers for the security tests: team members seeded directly, browsers with a user agent."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pyotp

from app.core.db import tenant_transaction
from app.core.passwords import hash_password
from tests.helpers import PASSWORD, Account, BrowserClient, browser_client

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)


@functools.cache
def _password_hash() -> str:
    """One hash of PASSWORD for every added member (made once the test settings are read)."""
    return hash_password(PASSWORD)


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
            _password_hash(),
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


async def join_workspace(
    user_id: uuid.UUID, tenant_id: uuid.UUID, role: str, *, first: bool = False
) -> uuid.UUID:
    """Give an existing user a membership in another workspace (returns its id). `first`
    dates it before their other memberships, so a plain login lands in this workspace."""
    membership = uuid.uuid4()
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            "insert into memberships (id, tenant_id, user_id, role, created_at) values"
            " ($1, $2, $3, $4, now() + case when $5 then interval '-1 day'"
            " else interval '1 second' end)",
            membership,
            tenant_id,
            user_id,
            role,
            first,
        )
    return membership


async def enable_mfa(user_id: uuid.UUID) -> pyotp.TOTP:
    """Turn MFA on for a user directly (a known secret, so the test can make codes)."""
    from app.core.crypto import encrypt_text
    from app.core.db import global_transaction

    secret = pyotp.random_base32()
    async with global_transaction() as conn:
        await conn.execute(
            "insert into user_mfa (user_id, secret_enc, enabled_at) values ($1, $2, now())",
            user_id,
            encrypt_text(secret),
        )
    return pyotp.TOTP(secret)


async def require_owner_mfa(tenant_id: uuid.UUID) -> None:
    """Set a workspace's "MFA required for owners" policy directly."""
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            "insert into tenant_security (tenant_id, mfa_required_for_owners) values ($1, true)"
            " on conflict (tenant_id) do update set mfa_required_for_owners = true",
            tenant_id,
        )
