"""Trusted proxies: X-Forwarded-For is believed only from TRUSTED_PROXIES, so behind HAProxy
each client keeps its own rate limits, and a client cannot pick its address by a header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from app.core import proxy, ratelimit
from app.core.proxy import forwarded_client, proxy_middleware, trusted_networks
from app.core.redis import redis
from app.settings import get_settings
from tests.helpers import PASSWORD, Account, browser_client

NETS = trusted_networks("10.0.0.0/8, 127.0.0.1")


def test_forwarded_for_is_read_only_from_a_trusted_peer() -> None:
    assert forwarded_client("10.1.2.3", "203.0.113.9", NETS) == "203.0.113.9"
    # a spoofed first hop is skipped: the right-most address our proxy did not add is the client
    assert forwarded_client("10.1.2.3", "1.1.1.1, 203.0.113.9", NETS) == "203.0.113.9"
    assert forwarded_client("10.1.2.3", "203.0.113.9, 10.4.4.4", NETS) == "203.0.113.9"
    assert forwarded_client("198.51.100.7", "203.0.113.9", NETS) == "198.51.100.7"  # untrusted
    assert forwarded_client("10.1.2.3", "", NETS) == "10.1.2.3"
    assert forwarded_client("10.1.2.3", "not-an-ip", NETS) == "10.1.2.3"
    assert forwarded_client("10.1.2.3", "2001:db8::1", NETS) == "2001:db8::1"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        trusted_networks("10.0.0.1, nonsense")


async def _client_seen(peer: str, forwarded: str) -> tuple[Any, str]:
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])

    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 4321),
        "headers": [(b"x-forwarded-for", forwarded.encode()), (b"x-forwarded-proto", b"https")],
    }
    await proxy_middleware(inner)(scope, None, None)  # type: ignore[arg-type]
    return seen["client"][0], seen["scheme"]


async def test_middleware_rewrites_the_client_only_behind_a_trusted_proxy(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await _client_seen("10.0.0.5", "203.0.113.9") == ("10.0.0.5", "http")  # none trusted
    trusting = msgspec.structs.replace(get_settings(), trusted_proxies="10.0.0.0/8")
    monkeypatch.setattr(proxy, "get_settings", lambda: trusting)
    assert await _client_seen("10.0.0.5", "203.0.113.9") == ("203.0.113.9", "https")
    assert await _client_seen("198.51.100.7", "203.0.113.9") == ("198.51.100.7", "http")


@pytest.fixture
async def behind_proxy(app: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The test client (127.0.0.1) plays the load balancer; the failure counters are cleaned."""
    trusting = msgspec.structs.replace(get_settings(), trusted_proxies="127.0.0.1")
    monkeypatch.setattr(proxy, "get_settings", lambda: trusting)
    monkeypatch.setattr(ratelimit, "LOGIN_FAILURES_PER_IP", ratelimit.Limit("t-ip", 4, 600))
    yield
    keys = [k async for k in redis().scan_iter(match="rl:*")]
    if keys:
        await redis().delete(*keys)


async def test_one_client_behind_the_proxy_cannot_lock_out_the_others(
    app: Any, tenant_a: Account, tenant_b: Account, behind_proxy: None
) -> None:
    async with browser_client(app) as attacker:
        attacker.headers["X-Forwarded-For"] = "203.0.113.66"
        await attacker.refresh_csrf("/login")
        for n in range(4):  # fails against several accounts: the per-address limit
            wrong = {"email": f"nobody{n}@example.com", "password": "wrong wrong wrong"}
            assert (await attacker.post_form("/login", wrong, htmx=True)).status_code == 422
        refused = await attacker.post_form(
            "/login", {"email": tenant_b.email, "password": PASSWORD}, htmx=True
        )
        assert refused.status_code == 429 and "from your network" in refused.text
    async with browser_client(app) as neighbour:  # same proxy, another client: unaffected
        neighbour.headers["X-Forwarded-For"] = "203.0.113.67"
        await neighbour.login(tenant_a.email, tenant_a.password)
        assert (await neighbour.get("/app")).status_code == 200
