"""The quick way of the one Valkey command every request sends (the session's load,
`app.core.redis.quick_command`): the same answers as the shared client, a connection never
used again with a reply left unread, and a broken connection answered through the client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import NoScriptError

from app.core import redis as valkey
from app.core import sessions
from app.settings import get_settings
from tests.helpers import Account


@pytest.fixture(autouse=True)
async def _fresh(app: Any) -> AsyncIterator[None]:
    valkey._forget_quick()
    yield
    valkey._forget_quick()
    await valkey.redis().delete("test:quick")


async def test_the_same_answers_as_the_client_concurrently() -> None:
    await valkey.redis().set("test:quick", b"value", ex=60)
    answers = await asyncio.gather(*[valkey.quick_command("GET", "test:quick") for _ in range(40)])
    assert answers == [b"value"] * 40
    assert 1 <= len(valkey._quick) <= valkey.QUICK_KEPT  # given back, the extra ones closed
    assert await valkey.quick_command("GET", "test:none") is None


async def test_an_error_reply_is_raised_and_the_connection_serves_on() -> None:
    with pytest.raises(NoScriptError):
        await valkey.quick_command("EVALSHA", "0" * 40, 0)
    assert len(valkey._quick) == 1
    await valkey.redis().set("test:quick", b"after", ex=60)
    assert await valkey.quick_command("GET", "test:quick") == b"after"


async def test_a_command_cancelled_mid_way_leaves_no_connection_with_a_reply_unread() -> None:
    await valkey.redis().set("test:quick", b"late", ex=60)
    slow = asyncio.create_task(
        valkey.quick_command("EVAL", "return redis.call('GET', KEYS[1])", 1, "test:quick")
    )
    await asyncio.sleep(0)  # sent, its reply not read yet
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert valkey._quick == []
    assert await valkey.quick_command("GET", "test:quick") == b"late"


async def test_a_connection_closed_by_the_server_is_answered_through_the_client(
    client_a: Any, tenant_a: Account
) -> None:
    await valkey.redis().set("test:quick", b"still", ex=60)
    assert await valkey.quick_command("GET", "test:quick") == b"still"
    (conn,) = valkey._quick
    quick_id = await valkey.quick_command("CLIENT", "ID")
    await valkey.redis().execute_command(
        "CLIENT", "KILL", "ID", str(quick_id)
    )  # a restart, seen by one connection
    assert await valkey.quick_command("GET", "test:quick") == b"still"
    assert conn not in valkey._quick and valkey._quick_paused_until > 0
    # the session load rides it too: a signed-in session is read whole
    sid = next(v for k, v in client_a.cookies.items() if k.endswith("odex_session"))
    session = await sessions.load_session(sid, get_settings())
    assert session is not None and session.user_id == str(tenant_a.user_id)
    assert (await client_a.get("/app")).status_code == 200
