"""Bad input never produces HTTP 500: every route, signed in, with missing, malformed, huge
and foreign values (a foreign tenant's ids must be 403/404, never a crash)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.helpers import Account

SKIP = ("/static", "/ws", "/billing/webhook")  # files, the socket, Stripe's signed endpoint
HOSTILE_FORMS: list[dict[str, str]] = [
    {},
    {"name": "x" * 100_000, "email": "@@", "title": "\x00", "amount": "-1e309", "q": "%_\\"},
    {"id": "not-a-uuid", "version": "NaN", "due_date": "2026-13-45", "role": "root"},
]


def _concrete(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def test_no_route_answers_500(
    app: Any, client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    foreign = str(tenant_b.tenant_id)
    problems: list[str] = []
    checked = 0

    async def send(method: str, url: str, **kwargs: Any) -> Any:
        """One request as the signed-in owner (signing in again if a route signed us out)."""
        nonlocal checked
        response = await client_a.request(method, url, **kwargs)
        if response.headers.get("location", "").startswith("/login"):
            client_a.cookies.clear()
            await client_a.login(tenant_a.email, tenant_a.password)
            kwargs.get("headers", {}).update({"X-CSRF-Token": client_a.csrf})
            response = await client_a.request(method, url, **kwargs)
        checked += 1
        return response

    for route in app.routes:
        path = route.path
        if path.startswith(SKIP):
            continue
        methods = set(getattr(route, "methods", set())) - {"HEAD", "OPTIONS"}
        for value in ("1", "not-a-number", str(uuid.uuid4()), foreign):
            url = _concrete(path, value)
            if "GET" in methods:
                for params in ({}, {"q": "'; drop table x;--", "sort": "zz", "after": "%%%"}):
                    response = await send("GET", url, params=params)
                    if response.status_code >= 500:
                        problems.append(f"GET {url} {params} -> {response.status_code}")
            for method in methods - {"GET"}:
                for form in HOSTILE_FORMS:
                    headers = {"X-CSRF-Token": client_a.csrf}
                    response = await send(method, url, data=form, headers=headers)
                    if response.status_code >= 500:
                        problems.append(f"{method} {url} {list(form)} -> {response.status_code}")
            if "{" not in path:
                break
    assert checked > 300  # the walk really covered the app
    assert not problems, "\n".join(problems)


async def test_no_route_answers_500_to_a_visitor(app: Any, client: Any, tenant_b: Account) -> None:
    """The same walk without signing in: login pages, redirects or 403/404, never a crash."""
    await client.refresh_csrf("/login")
    problems: list[str] = []
    for route in app.routes:
        if route.path.startswith(SKIP):
            continue
        methods = set(getattr(route, "methods", set())) - {"HEAD", "OPTIONS"}
        for value in ("1", "x" * 300, str(tenant_b.tenant_id)):
            url = _concrete(route.path, value)
            for method in methods:
                for form in HOSTILE_FORMS[:2]:
                    response = await client.request(
                        method,
                        url,
                        data=form if method != "GET" else None,
                        headers={"X-CSRF-Token": client.csrf},
                    )
                    if response.status_code >= 500:
                        problems.append(f"{method} {url} -> {response.status_code}")
            if "{" not in route.path:
                break
    assert not problems, "\n".join(problems)
