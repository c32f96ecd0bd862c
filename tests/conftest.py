"""Test fixtures: real PostgreSQL (as odex_app, so RLS is enforced), real Valkey, real SMTP sink.

Embedded servers by default; TEST_DATABASE_URL (a superuser URL of a server where a fresh
database and the two roles may be created) and TEST_REDIS_URL override them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.billing.fake_stripe import PRICE_BUSINESS, PRICE_PRO, WEBHOOK_SECRET, FakeStripe
from tests.helpers import FAST_PASSWORD_HASHING, Account, browser_client, make_account

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests whose job visits every workspace first: the session's database grows with every
    test (each seeds two workspaces), and so would their time (a minute for the key rotation
    at the end of the suite, a few seconds at its start). Only tests that leave nothing that
    others see (publishing a privacy policy puts a banner on every page). Browser tests last:
    their live worker shares the job queue for the rest of the session, and must not take
    jobs that in-process tests queue and then run themselves (run_jobs).

    Under pytest-xdist (`make test`: -n 2 --dist load) each worker process has services of its
    own (database, Valkey, mail sink) and is handed items in this order, in increasing
    positions, so both rules hold in every worker."""

    def place(item: pytest.Item) -> int:
        if "/tests/e2e/" in str(item.path):
            return 2
        return 0 if item.get_closest_marker("every_workspace") else 1

    items.sort(key=place)


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    """Start (or adopt) PostgreSQL, Valkey and the mail sink; migrate; export the URLs."""
    from app.core import embedded

    tmp = Path(tempfile.mkdtemp(prefix="odex-test-"))
    tmp.chmod(0o755)
    started: list[Any] = []
    env: dict[str, str] = {"ODEX_ENV": "test", "ODEX_DATA_DIR": str(tmp), **FAST_PASSWORD_HASHING}
    admin = os.environ.get("TEST_DATABASE_URL")
    database = f"odex_test_{os.getpid()}"
    if admin:
        base = admin.rsplit("/", 1)[0]

        def admin_url(db: str) -> str:
            return f"{base}/{db}"

        asyncio.run(embedded.create_roles_and_database(admin_url, database))
        host_part = base.split("@", 1)[-1]
        env["DATABASE_URL"] = f"postgresql://{embedded.APP_ROLE}@{host_part}/{database}"
        env["MIGRATION_DATABASE_URL"] = f"postgresql://{embedded.OWNER_ROLE}@{host_part}/{database}"
    else:
        pg = embedded.EmbeddedPostgres(tmp / "pg").start()
        started.append(pg)
        asyncio.run(pg.bootstrap(database))
        env["DATABASE_URL"] = pg.url(embedded.APP_ROLE, database)
        env["MIGRATION_DATABASE_URL"] = pg.url(embedded.OWNER_ROLE, database)
        env["PG_BIN"] = str(Path(pg.bin("psql")).parent)
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = _own_redis_database(os.environ["TEST_REDIS_URL"])
    else:
        valkey = embedded.EmbeddedValkey(tmp / "valkey", persist=False).start()
        started.append(valkey)
        env["REDIS_URL"] = valkey.url
    sink = embedded.MailSink(tmp / "mailbox").start()
    started.append(sink)
    env["SMTP_URL"] = sink.url
    env["MAILBOX_DIR"] = str(sink.mailbox_dir)
    os.environ.update(env)
    from app.settings import get_settings

    get_settings.cache_clear()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        check=True,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
    )
    from app import domains

    domains.load()  # event subscribers, slots and wiring, as the web app and the worker have them
    yield env
    for service in reversed(started):
        service.stop()
    if admin:  # leave the given server as we found it
        asyncio.run(_drop_database(admin.rsplit("/", 1)[0] + "/postgres", database))
    embedded.wipe(tmp)


def _own_redis_database(url: str) -> str:
    """A given Valkey shared by pytest-xdist workers: the URL's database number plus the
    worker's (gw0 keeps the URL's), so that no worker runs another's jobs or sees its sessions
    and rate limits."""
    from urllib.parse import urlsplit

    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    parts = urlsplit(url)
    given = int(parts.path.strip("/") or 0)
    return parts._replace(path=f"/{given + worker}").geturl() if worker else url


async def _drop_database(admin_url: str, database: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def app(services: dict[str, str]) -> AsyncIterator[Any]:
    """The Litestar app with the DB pool and Redis opened on the test loop."""
    from app.asgi import create_app
    from app.core import db, redis

    await db.start_pool(max_size=8)
    await redis.connect(services["REDIS_URL"])
    yield create_app()
    await redis.disconnect()
    await db.close_pool()


@pytest.fixture
async def owner_conn(services: dict[str, str]) -> AsyncIterator[Any]:
    """A connection as the schema owner (for the catalogue test and setting up tampering)."""
    import asyncpg

    conn = await asyncpg.connect(services["MIGRATION_DATABASE_URL"])
    yield conn
    await conn.close()


@pytest.fixture
async def raw_conn(services: dict[str, str]) -> AsyncIterator[Any]:
    """A plain connection as odex_app, outside tenant_transaction (RLS applies)."""
    import asyncpg

    conn = await asyncpg.connect(services["DATABASE_URL"])
    yield conn
    await conn.close()


@pytest.fixture
async def tenant_b(app: Any) -> Account:
    """Workspace B: the second tenant, present whenever A is, so a missing filter shows."""
    return await make_account("B")


@pytest.fixture
async def tenant_a(app: Any, tenant_b: Account) -> Account:
    """Workspace A with a verified owner (always seeded together with workspace B)."""
    return await make_account("A")


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    async with browser_client(app) as c:
        yield c


@pytest.fixture
async def client_a(app: Any, tenant_a: Account) -> AsyncIterator[Any]:
    async with browser_client(app) as c:
        await c.login(tenant_a.email, tenant_a.password)
        yield c


@pytest.fixture
async def client_b(app: Any, tenant_b: Account) -> AsyncIterator[Any]:
    async with browser_client(app) as c:
        await c.login(tenant_b.email, tenant_b.password)
        yield c


@pytest.fixture
def fake_stripe(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """Stripe keys set, every outgoing call sent to the local stand-in (settings re-read)."""
    from app.settings import get_settings

    fake = FakeStripe().start()
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setenv("STRIPE_API_BASE", fake.url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_PRICE_PRO", PRICE_PRO)
    monkeypatch.setenv("STRIPE_PRICE_BUSINESS", PRICE_BUSINESS)
    get_settings.cache_clear()
    yield fake
    fake.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def mailbox(services: dict[str, str]) -> Any:
    from tests.helpers import Mailbox

    return Mailbox(Path(services["MAILBOX_DIR"]))


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"
