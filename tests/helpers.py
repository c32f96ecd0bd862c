"""Test helpers: a cookie-keeping client that speaks CSRF, seeded accounts, the mailbox, jobs."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
PASSWORD = "correct horse battery staple"
# argon2id at its minimum cost in tests (and in the app processes they start): the suite signs
# up and logs in ~1,000 times, which at production cost (64 MiB, 3 passes) took minutes of CPU.
# Production refuses these values (tests/security/test_password_hashing.py): a test that
# starts a production process leaves them out.
FAST_PASSWORD_HASHING = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}


@dataclass
class Account:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    password: str
    name: str
    company: str


async def make_account(tag: str, *, verified: bool = True) -> Account:
    """Sign up a fresh workspace through the real service (unique email each time)."""
    from app.accounts import services
    from app.accounts.tables import User
    from app.core.db import global_transaction

    email = f"owner-{tag.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    name, company = f"Owner {tag}", f"Company {tag} {uuid.uuid4().hex[:6]}"
    user_id, tenant_id = await services.sign_up(name, email, company, PASSWORD)
    if verified:
        async with global_transaction():
            await User.update({User.email_verified_at: datetime.now(UTC)}).where(User.id == user_id)
    return Account(user_id, tenant_id, email, PASSWORD, name, company)


class BrowserClient(httpx.AsyncClient):
    """An httpx client that behaves like a browser tab: keeps cookies, sends the CSRF token."""

    csrf: str = ""

    async def refresh_csrf(self, path: str = "/login") -> str:
        response = await self.get(path)
        match = CSRF_RE.search(response.text)
        assert match, f"no CSRF token on {path}"
        self.csrf = match.group(1)
        return self.csrf

    async def post_form(
        self, path: str, data: dict[str, str] | None = None, *, htmx: bool = False, **kw: Any
    ) -> httpx.Response:
        if not self.csrf:
            await self.refresh_csrf()
        headers = {"X-CSRF-Token": self.csrf}
        if htmx:
            headers["HX-Request"] = "true"
        headers.update(kw.pop("headers", {}))
        return await self.post(path, data=data or {}, headers=headers, **kw)

    async def login(self, email: str, password: str) -> httpx.Response:
        await self.refresh_csrf("/login")
        response = await self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]
        await self.refresh_csrf("/app")  # the session id and CSRF token rotate at login
        return response


@asynccontextmanager
async def browser_client(app: Any) -> AsyncIterator[BrowserClient]:
    transport = httpx.ASGITransport(app=app)
    async with BrowserClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as client:
        yield client


class Mailbox:
    """Mail the SMTP sink caught (after the outbox job delivered it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[Message]:
        from app.core.embedded import read_mailbox

        return read_mailbox(self.path)

    def to(self, address: str) -> list[Message]:
        if not address.isascii():
            return [m for m in self.all() if m["To"] == address]
        # only the files that mention the address are parsed (the session's mailbox holds
        # every mail of every test, and the browser tests poll it)
        needle = address.encode()
        found: list[Message] = []
        for path in sorted(self.path.glob("*.eml")):
            raw = path.read_bytes()
            if needle in raw and (message := message_from_bytes(raw))["To"] == address:
                found.append(message)
        return found

    def last_link(self, address: str, path: str) -> str:
        """The last link to `path` mailed to `address`, as a local path with its query."""
        for message in reversed(self.to(address)):
            body = message.get_payload(decode=True)
            text = body.decode() if isinstance(body, bytes) else str(body)
            match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\?[^\s]+)", text)
            if match:
                return match.group(1)
        raise AssertionError(f"no mail to {address} with a link to {path}")


async def run_jobs() -> None:
    """Run every queued arq job to completion with a real worker (burst mode)."""
    from arq.connections import create_pool
    from arq.worker import Worker

    from app.core.redis import redis_settings
    from app.settings import get_settings
    from app.worker import WorkerSettings

    worker = Worker(
        functions=WorkerSettings.functions,
        redis_pool=await create_pool(redis_settings(get_settings().redis_url)),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        keep_result=0,
    )
    await worker.main()
    await worker.close()


async def set_plan(account: Account, plan: str) -> None:
    """Put a workspace on a paid plan directly (as a completed Stripe checkout would)."""
    from app.core.db import tenant_transaction

    async with tenant_transaction(account.tenant_id) as conn:
        await conn.execute(
            "insert into billing_accounts (tenant_id, plan, status) values ($1, $2, 'active')"
            " on conflict (tenant_id) do update set plan = $2, status = 'active'",
            account.tenant_id,
            plan,
        )


VERSION_RE = re.compile(r'name="version" value="(\d+)"')


async def version_on(client: httpx.AsyncClient, path: str) -> str:
    """The record version the form on `path` carries (what the browser sends back with it)."""
    page = await client.get(path)
    match = VERSION_RE.search(page.text)
    assert match, f"no version field on {path} ({page.status_code})"
    return match.group(1)


async def clear_of_a_minute_turn(margin: float = 15.0) -> None:
    """Wait, if the clock is within `margin` seconds of a new minute, until that minute has
    begun: kept markup keyed by the minute of now() (the board, the company page) is rendered
    again when the minute turns, and a test counting renders must not see that by chance."""
    left = 60 - time.time() % 60
    if left < margin:
        await asyncio.sleep(left + 0.05)


class Counts:
    """How often a kept page read its data (`reads`) and rendered (`renders`) during a test."""

    def __init__(self) -> None:
        self.reads = 0
        self.renders = 0


def count_calls(monkeypatch: Any, counts: Counts, field: str, owner: Any, name: str) -> None:
    """Replace `owner.name` (a function or a coroutine function) for the test by one that adds 1
    to `counts.<field>` on each call, then does what it did."""
    original = getattr(owner, name)

    def bump() -> None:
        setattr(counts, field, getattr(counts, field) + 1)

    if inspect.iscoroutinefunction(original):

        async def counted_async(*args: Any, **kwargs: Any) -> Any:
            bump()
            return await original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted_async)
    else:

        def counted(*args: Any, **kwargs: Any) -> Any:
            bump()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


async def app_sql(account: Account, sql: str, *args: Any) -> None:
    """One statement as the app role in the account's workspace, in its own transaction (a
    change made beside the services: what another process, or a script, commits)."""
    from app.core.db import tenant_transaction

    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        await conn.execute(sql, *args)


async def until_a_lock_is_waited(owner_conn: Any, what: str) -> None:
    """Wait (up to 5 s) until some transaction waits for a lock another holds: the moment a
    lock-order test lets the holder commit (`what` says who should be waiting)."""
    for _ in range(100):
        if await owner_conn.fetchval("select count(*) from pg_locks where not granted"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} never waited for a lock")
