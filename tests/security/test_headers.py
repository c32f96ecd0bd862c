"""Security headers on every response: strict CSP, no framing, nosniff, referrer, HSTS on TLS."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import Account

PATHS = ["/login", "/app", "/no-such-page", "/static/js/app.js", "/settings/alerts"]


def _directives(csp: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in csp.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


async def test_every_response_carries_the_headers(client_a: Any, tenant_a: Account) -> None:
    for path in PATHS:
        response = await client_a.get(path)
        h = response.headers
        csp = _directives(h["content-security-policy"])
        assert "'unsafe-inline'" not in h["content-security-policy"], path
        assert "'unsafe-eval'" not in h["content-security-policy"], path
        assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'self'"], path
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"], path
        assert h["x-frame-options"] == "DENY", path
        assert h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "strict-transport-security" not in h, path  # plain HTTP: no HSTS


async def test_hsts_only_over_tls(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
        response = await tls.get("/login")
    hsts = response.headers["strict-transport-security"]
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000 and "includeSubDomains" in hsts
