"""Helpers for the API tests: tokens issued through the real service, a bearer client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.api import tokens
from tests.deals.helpers import current_of
from tests.helpers import Account

READ_WRITE = list(tokens.OFFERED)
READ_ONLY = [s for s in tokens.OFFERED if s.endswith(":read")]


async def token_for(
    account: Account, scopes: list[str] | None = None, days: int = 30, rate: int = 600
) -> str:
    raw, _ = await tokens.issue_token(
        await current_of(account), "test token", scopes or READ_WRITE, days, rate
    )
    return raw


@asynccontextmanager
async def api_client(app: Any, token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers=headers,
        follow_redirects=False,
    ) as client:
        yield client


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is problem details with `status`; returns its body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("/api/docs#")
    return body
