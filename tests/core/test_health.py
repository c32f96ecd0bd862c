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


async def test_start_up_work_waits_for_the_migrations(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process started during a release (`odex migrate` still running) does its start-up reads
    once the schema is current, and a failing start-up task never takes the process down."""
    import asyncio

    shipped = health.shipped_migrations() | {("crm", "2999-01-01T00:00:00:000000")}
    monkeypatch.setattr(health, "shipped_migrations", lambda: shipped)
    ran: list[str] = []

    async def read_tables() -> None:
        ran.append("read")

    task = health.when_migrated(read_tables, name="test", poll=0.05)
    await asyncio.sleep(0.3)
    assert ran == [] and not task.done()  # still waiting for `odex migrate`
    monkeypatch.undo()  # the release's migration is applied
    await asyncio.wait_for(task, 5)
    assert ran == ["read"]

    async def broken() -> None:
        raise RuntimeError("boom")

    await asyncio.wait_for(health.when_migrated(broken, name="broken", poll=0.05), 5)  # logged

    waiting = health.when_migrated(read_tables, name="never", poll=0.05)
    monkeypatch.setattr(health, "shipped_migrations", lambda: shipped)
    await health.stop_background()
    assert waiting.cancelled() and ran == ["read"]
