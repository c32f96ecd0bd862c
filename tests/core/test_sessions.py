"""The session and what every request reads with it, in one Valkey round trip
(`sessions.load_session_with`: a Lua script derives the keys from the stored session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from app.core import sessions
from app.core.redis import redis
from app.settings import get_settings
from tests.helpers import Account

TEMPLATES = ("test:v:{visitor_id}", "test:u:{user_id}", "test:fixed")


@pytest.fixture(autouse=True)
async def _no_test_keys_left() -> AsyncIterator[None]:
    """The keys these tests write are on no data map: none is left behind."""
    yield
    keys = [key async for key in redis().scan_iter(match="test:*")]
    if keys:
        await redis().delete(*keys)


def _sid(client: Any) -> str:
    return next(v for k, v in client.cookies.items() if k.endswith("odex_session"))


async def test_the_keys_derived_from_the_session_come_with_it(
    client_a: Any, tenant_a: Account
) -> None:
    settings = get_settings()
    session = await sessions.load_session(_sid(client_a), settings)
    assert session is not None and session.user_id == str(tenant_a.user_id)
    await redis().set(f"test:v:{session.visitor_id}", b"visitor", ex=60)
    await redis().set(f"test:u:{tenant_a.user_id}", b"user", ex=60)
    await redis().delete("test:fixed")
    loaded, read = await sessions.load_session_with(_sid(client_a), settings, TEMPLATES)
    assert loaded is not None and loaded.sid == session.sid and not loaded.dirty
    assert read == {
        f"test:v:{session.visitor_id}": b"visitor",
        f"test:u:{tenant_a.user_id}": b"user",
        "test:fixed": None,  # read, and absent
    }
    await redis().execute_command("SCRIPT", "FLUSH")  # a restarted Valkey: sent again in full
    again, read_again = await sessions.load_session_with(_sid(client_a), settings, TEMPLATES)
    assert again is not None and read_again == read


async def test_a_key_naming_a_field_the_session_lacks_is_not_read(app: Any) -> None:
    """Signed out: no user id, so no user key (never "test:u:" for everyone)."""
    settings = get_settings()
    anonymous = sessions.new_session("127.0.0.1", "test")
    assert await sessions.save_session(anonymous, settings)
    await redis().set("test:u:", b"everyone", ex=60)
    loaded, read = await sessions.load_session_with(anonymous.sid, settings, TEMPLATES)
    assert loaded is not None and loaded.user_id is None
    assert set(read) == {f"test:v:{anonymous.visitor_id}", "test:fixed"}
    assert sessions.derived_key("test:u:{user_id}", loaded) is None


async def test_an_unknown_or_expired_session_reads_nothing(client_a: Any) -> None:
    settings = get_settings()
    assert await sessions.load_session_with("no-such-session", settings, TEMPLATES) == (None, {})
    expired = msgspec.structs.replace(settings, session_idle_minutes=0)
    assert await sessions.load_session_with(_sid(client_a), expired, TEMPLATES) == (None, {})
    assert await sessions.load_session(_sid(client_a), settings) is None  # destroyed
