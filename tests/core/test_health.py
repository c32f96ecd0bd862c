"""Health endpoints for load balancers: alive, and ready only when PostgreSQL and Valkey answer,
the migrations are current and the process is not draining after SIGTERM."""

from __future__ import annotations

from typing import Any

import pytest

from app.core import health


async def test_healthz_and_readyz(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "postgresql": "ok", "valkey": "ok"}
    assert health.shipped_migrations()  # read from migrations/, one per file

    shipped = health.shipped_migrations() | {("crm", "2999-01-01T00:00:00:000000")}
    monkeypatch.setattr(health, "shipped_migrations", lambda: shipped)
    pending = await client.get("/readyz")
    assert pending.status_code == 503 and pending.headers["retry-after"]
    assert pending.json()["postgresql"] == "1 migrations pending (run `odex migrate`)"
    monkeypatch.undo()

    monkeypatch.setitem(health._state, "draining", True)
    draining = await client.get("/readyz")
    assert draining.status_code == 503 and draining.json()["process"] == "shutting down"
    assert (await client.get("/healthz")).status_code == 200  # still alive, still serving
