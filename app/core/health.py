"""Health for load balancers: alive (/healthz) and ready (/readyz: PostgreSQL, Valkey, migrations).

A process that is shutting down reports itself not ready for SHUTDOWN_DRAIN_SECONDS before it
stops listening, so the load balancer sends nothing new to it (see `odex serve`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable

import asyncpg

from app.core.availability import BACKEND_DOWN
from app.core.db import global_transaction
from app.core.redis import redis
from app.settings import ROOT

CHECK_TIMEOUT = 2.0
MIGRATION_ID = re.compile(r'^ID = "([^"]+)"', re.MULTILINE)
_state = {"draining": False}
_background: set[asyncio.Task[None]] = set()
log = logging.getLogger("odex.health")


def start_draining() -> None:
    """From now on /readyz answers 503 (SIGTERM received; requests are still served)."""
    _state["draining"] = True


@functools.cache
def shipped_migrations() -> frozenset[tuple[str, str]]:
    """(app, migration id) of every migration file in this release."""
    found = set()
    for path in (ROOT / "migrations").glob("*/*.py"):
        match = MIGRATION_ID.search(path.read_text())
        if match:
            found.add((path.parent.name, match.group(1)))
    return frozenset(found)


async def _database() -> str:
    async with global_transaction() as conn:
        rows = await conn.fetch("select app_name, name from migration")
    applied = {(r["app_name"], r["name"]) for r in rows}
    pending = sorted(name for _, name in shipped_migrations() - applied)
    return f"{len(pending)} migrations pending (run `odex migrate`)" if pending else "ok"


async def _valkey() -> str:
    await redis().ping()
    return "ok"


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    try:
        return str(await asyncio.wait_for(probe(), CHECK_TIMEOUT))
    except TimeoutError:
        return "no answer within 2 s"
    except BACKEND_DOWN as exc:
        return f"unreachable ({type(exc).__name__})"


async def readiness() -> tuple[bool, dict[str, str]]:
    """(ready?, what each dependency said)."""
    report = {"postgresql": await _check(_database), "valkey": await _check(_valkey)}
    if _state["draining"]:
        report["process"] = "shutting down"
    ready = all(value == "ok" for value in report.values())
    return ready, {"status": "ready" if ready else "unavailable", **report}


async def migrations_current() -> bool:
    """Whether this release's migrations are all applied (False while PostgreSQL is down or
    `odex migrate` has not finished, e.g. during a release)."""
    try:
        return await _check(_database) == "ok"
    except asyncpg.PostgresError:  # before the first migration: no `migration` table yet
        return False


def when_migrated(
    action: Callable[[], Awaitable[object]], *, name: str, poll: float = 1.0
) -> asyncio.Task[None]:
    """Run `action` in the background once the schema is current.

    Processes start while `odex migrate` may still run (their /readyz says so); start-up work
    that reads tables must wait for it rather than fail, and its failure is logged, never fatal
    to the process. `stop_background()` cancels what is still waiting at shutdown.
    """

    async def run() -> None:
        while not await migrations_current():  # noqa: ASYNC110 - polls the database, not a flag
            await asyncio.sleep(poll)
        try:
            await action()
        except Exception:
            log.exception("start-up task %s failed", name)

    task = asyncio.get_running_loop().create_task(run(), name=name)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def stop_background() -> None:
    """Cancel start-up tasks still waiting (shutdown)."""
    tasks = list(_background)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
