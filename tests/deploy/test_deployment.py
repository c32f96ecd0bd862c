"""The tested deployment (README "Production deployment"): HAProxy → 2 web + 2 workers →
PgBouncer (transaction mode) → PostgreSQL, plus Valkey, everything in production mode and
started from the installed console scripts. One scenario through the proxy, then the outages:
a web node killed and both restarted under load, a worker killed and one stopped mid-export,
Valkey killed for 15 s, PostgreSQL stopped. Each recovers by itself, nothing lost or doubled.

The tests share one stack and run in file order (each leaves it whole for the next).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from app.core import embedded
from app.core.lease import holder_pid
from tests.deploy.stack import Stack, start_stack
from tests.helpers import PASSWORD, BrowserClient

pytestmark = pytest.mark.skipif(
    not (shutil.which("haproxy") and shutil.which("pgbouncer")),
    reason="haproxy and pgbouncer come from Debian: `make test` installs them (deploy-tools)",
)
STAGE = re.compile(r'data-stage-id="([0-9a-f-]{36})" data-kind="[a-z]+" data-stage-name="([^"]+)"')
EXPORT_ROW = re.compile(r'id="export-([0-9a-f-]{36})"')
STARTED = time.monotonic()


@pytest.fixture(scope="module")
def stack(services: dict[str, str]) -> Iterator[Stack]:
    """The deployment (after the suite's own servers: the embedded PostgreSQL library keeps the
    lock folder of the first server it starts for the whole process)."""
    tmp = Path(tempfile.mkdtemp(prefix="odex-deploy-"))
    started = time.monotonic()
    deployment = start_stack(tmp)
    print(f"\ndeployment started in {time.monotonic() - started:.1f} s")
    yield deployment
    deployment.stop()
    embedded.wipe(tmp)
    print(f"\ndeployment tests took {time.monotonic() - started:.1f} s")


@pytest.fixture(scope="module")
async def owner(stack: Stack) -> AsyncIterator[BrowserClient]:
    """A person who signed up and verified through the proxy (the mail went through a worker)."""
    async with stack.client() as client:
        email = f"deploy-{uuid.uuid4().hex[:8]}@example.com"
        await client.refresh_csrf("/signup")
        form = {"name": "Dee Ploy", "email": email, "company": "Deploy Co", "password": PASSWORD}
        response = await client.post_form("/signup", form)
        assert response.status_code == 303, response.text[:500]
        await client.refresh_csrf("/app")
        link = await _mailed_link(stack, email, "/verify")
        verified = await client.get(link)
        assert verified.status_code == 303
        assert "Your email is verified" in (await client.get("/app")).text
        client.email = email  # type: ignore[attr-defined]
        yield client


async def _mailed_link(stack: Stack, email: str, path: str, within: float = 20) -> str:
    deadline = time.monotonic() + within
    while True:
        try:
            return stack.mailbox.last_link(email, path)
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail with {path}\n{stack.logs()}") from None
            await asyncio.sleep(0.1)


# ---- the board --------------------------------------------------------------------------


async def _stages(client: BrowserClient) -> dict[str, str]:
    page = await client.get("/deals/board")
    assert page.status_code == 200, page.text[:300]
    return {name: stage_id for stage_id, name in STAGE.findall(page.text)}


async def _new_deal(client: BrowserClient, title: str, stage_id: str) -> str:
    form = {"title": title, "amount": "1200", "currency": "EUR", "stage_id": stage_id}
    created = await client.post_form("/deals", form)
    assert created.status_code == 303, created.text[:500]
    return created.headers["location"].rsplit("/", 1)[1]


async def _move(client: BrowserClient, deal_id: str, stage_id: str) -> httpx.Response:
    board = (await client.get("/deals/board")).text
    version = re.search(rf'id="deal-{deal_id}"[^>]*data-version="(\d+)"', board)
    assert version, "the card is not on the board"
    form = {"stage_id": stage_id, "version": version.group(1)}
    moved = await client.post_form(f"/deals/{deal_id}/move", form, htmx=True)
    assert moved.status_code == 200 and "X-Odex-Move" not in moved.headers, moved.text[:300]
    return moved


async def _socket(stack: Stack, client: BrowserClient, node: str | None = None) -> Any:
    """A live socket through HAProxy (on `node`, if given: reconnect until it lands there)."""
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ws_url = stack.url.replace("http://", "ws://") + "/ws"
    if node is not None:
        await stack.served_by(node)  # HAProxy has it in rotation (it may just be rising)
    for _ in range(20):
        ws = await ws_connect(
            ws_url, additional_headers={"Cookie": cookie}, origin=stack.url, open_timeout=10
        )  # type: ignore[arg-type]
        served = ws.response.headers.get("X-Served-By") if ws.response else None
        if node is None or served == node:
            ready = await asyncio.wait_for(ws.recv(), 10)
            assert 'id="live-status"' in str(ready)
            ws.node = served  # type: ignore[attr-defined]
            return ws
        await ws.close()
    raise AssertionError(f"never got a socket on {node}")


async def _pushed(ws: ClientConnection, text: str, within: float = 10) -> str:
    deadline = time.monotonic() + within
    while True:
        message = str(await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.1)))
        if text in message:
            return message


# ---- exports ----------------------------------------------------------------------------


async def _request_export(client: BrowserClient) -> str:
    before = set(EXPORT_ROW.findall((await client.get("/settings/export")).text))
    started = await client.post_form("/settings/export", {})
    assert started.status_code == 303, started.text[:300]
    after = set(EXPORT_ROW.findall((await client.get("/settings/export")).text))
    (export_id,) = after - before
    return export_id


async def _export_status(stack: Stack, export_id: str) -> str:
    conn = await stack.superuser()
    try:
        return str(await conn.fetchval("select status from exports where id = $1", export_id))
    finally:
        await conn.close()


async def _job(stack: Stack, export_id: str, within: float = 10) -> dict[str, Any] | None:
    """The export's lease once it has ended (the export row is ready a moment before its
    worker records the lease as done)."""
    conn = await stack.superuser()
    deadline = time.monotonic() + within
    try:
        while True:
            row = await conn.fetchrow("select * from job_runs where key like $1", f"%:{export_id}")
            if row is None or row["status"] != "running" or time.monotonic() > deadline:
                return dict(row) if row else None
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def _wait_ready(
    stack: Stack, client: BrowserClient, export_id: str, within: float = 45
) -> set[str]:
    """Poll the export row like the page does; returns the texts it showed on the way."""
    shown: set[str] = set()
    deadline = time.monotonic() + within
    while await _export_status(stack, export_id) != "ready":
        if time.monotonic() > deadline:
            raise AssertionError(f"export {export_id} not ready: {shown}\n{stack.logs()}")
        row = await client.get(
            f"/settings/export/{export_id}/progress", headers={"HX-Request": "true"}
        )
        if row.status_code == 200:
            shown |= set(
                re.findall(r"Resuming after an interruption|Waiting to start|Writing", row.text)
            )
        await asyncio.sleep(0.2)
    return shown


async def _ready_notices(stack: Stack, email: str) -> tuple[int, int]:
    """(in-app notifications, mails) that told `email` an export is ready."""
    conn = await stack.superuser()
    try:
        notices = await conn.fetchval(
            "select count(*) from notifications n join users u on u.id = n.user_id"
            " where u.email = $1 and n.kind = 'export'",
            email,
        )
    finally:
        await conn.close()
    mails = [m for m in stack.mailbox.to(email) if "data export is ready" in str(m["Subject"])]
    return int(notices), len(mails)


async def _notices_become(stack: Stack, email: str, expected: tuple[int, int]) -> None:
    """The announcements reach `expected` (the mail goes out a moment after the export is
    ready) and stay there: nothing is announced twice."""
    deadline = time.monotonic() + 15
    while (seen := await _ready_notices(stack, email)) != expected:
        assert time.monotonic() < deadline and seen < expected, (seen, expected)
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    assert await _ready_notices(stack, email) == expected


@contextlib.asynccontextmanager
async def _table_locked(stack: Stack, table: str) -> AsyncIterator[None]:
    """Hold an exclusive lock so that an export blocks mid-way (after its first files)."""
    conn = await stack.superuser()
    try:
        async with conn.transaction():
            await conn.execute(f"lock table {table} in access exclusive mode")
            yield
    finally:
        await conn.close()


async def _running_holder(stack: Stack, export_id: str, within: float = 20) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = await _job(stack, export_id)
        if job and job["status"] == "running" and job["owner"]:
            return holder_pid(job["owner"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"the export never started\n{stack.logs()}")


# ---- the scenario -----------------------------------------------------------------------


async def test_production_mode_health_and_no_dev_features(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as c:
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["postgresql"] == "ok", ready.text
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        assert (await c.get("/dev/mailbox")).status_code == 404  # no ODEX_ENV: production
        served = {(await c.get("/healthz")).headers["x-served-by"] for _ in range(4)}
    assert served == {"web1", "web2"}


async def test_board_move_reaches_a_socket_on_the_other_node(
    stack: Stack, owner: BrowserClient
) -> None:
    stages = await _stages(owner)
    deal = await _new_deal(owner, "Across nodes", stages["Lead"])
    sockets = [await _socket(stack, owner, "web1"), await _socket(stack, owner, "web2")]
    moved = await _move(owner, deal, stages["Qualified"])
    assert moved.headers["x-served-by"] in ("web1", "web2")
    for ws in sockets:  # one of them is on the node that did not handle the move
        assert stages["Qualified"] in await _pushed(ws, f"deal-{deal}")
        await ws.close()


async def test_export_is_done_by_a_worker(stack: Stack, owner: BrowserClient) -> None:
    export_id = await _request_export(owner)
    await _wait_ready(stack, owner, export_id)
    job = await _job(stack, export_id)
    assert job and job["status"] == "done"
    assert holder_pid(str(job["owner"])) in [w.pid for w in stack.workers]
    download = await owner.get(f"/settings/export/{export_id}/download")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    await _notices_become(stack, owner.email, (1, 1))  # type: ignore[attr-defined]


async def test_worker_killed_mid_export_is_taken_over_and_finishes_once(
    stack: Stack, owner: BrowserClient
) -> None:
    email = owner.email  # type: ignore[attr-defined]
    before = await _ready_notices(stack, email)
    async with _table_locked(stack, "notes"):
        export_id = await _request_export(owner)
        pid = await _running_holder(stack, export_id)
        killed = next(w for w in stack.workers if w.pid == pid)
        killed.signal(signal.SIGKILL)  # mid-export, no cleanup of any kind
        killed.wait(5)
    shown = await _wait_ready(stack, owner, export_id)
    assert "Resuming after an interruption" in shown
    job = await _job(stack, export_id)
    assert job and job["status"] == "done" and job["takeovers"] == 1
    survivor = next(w for w in stack.workers if w is not killed)
    assert holder_pid(str(job["owner"])) == survivor.pid
    await _notices_become(stack, email, (before[0] + 1, before[1] + 1))  # exactly once
    stack.restart(killed)


async def test_worker_stopped_mid_export_hands_the_job_over(
    stack: Stack, owner: BrowserClient
) -> None:
    """SIGTERM: the worker gives the job WORKER_SHUTDOWN_SECONDS, then hands it back and exits
    cleanly; the other worker finishes it."""
    async with _table_locked(stack, "notes"):
        export_id = await _request_export(owner)
        pid = await _running_holder(stack, export_id)
        stopping = next(w for w in stack.workers if w.pid == pid)
        stopping.signal(signal.SIGTERM)
        assert await asyncio.to_thread(stopping.wait, 20) == 0
    await _wait_ready(stack, owner, export_id)
    job = await _job(stack, export_id)
    assert job and job["takeovers"] >= 1 and job["status"] == "done"
    stack.restart(stopping)


async def test_killed_web_node_requests_go_on_and_sockets_reconnect(
    stack: Stack, owner: BrowserClient
) -> None:
    stages = await _stages(owner)
    deal = await _new_deal(owner, "Node dies", stages["Lead"])
    doomed = stack.webs[0]
    ws = await _socket(stack, owner, doomed.name)
    doomed.signal(signal.SIGKILL)
    doomed.wait(5)
    with pytest.raises(ConnectionClosed):  # HAProxy drops the tunnel: the browser reconnects
        await asyncio.wait_for(ws.recv(), 10)
    for _ in range(20):
        assert (await owner.get("/app")).status_code == 200
    again = await _socket(stack, owner)  # the reconnect lands on the living node
    assert again.node == stack.webs[1].name  # type: ignore[attr-defined]
    await _move(owner, deal, stages["Proposal"])
    await _pushed(again, f"deal-{deal}")
    await again.close()
    stack.restart(doomed)
    await stack.served_by(doomed.name)


async def test_rolling_restart_under_load_fails_no_request(
    stack: Stack, owner: BrowserClient
) -> None:
    results: list[int | str] = []
    stop = asyncio.Event()

    async def load() -> None:
        async with stack.client() as c:
            c.cookies.update(owner.cookies)
            while not stop.is_set() and len(results) < 5000:
                try:
                    results.append((await c.get("/app")).status_code)
                except httpx.HTTPError as exc:
                    results.append(type(exc).__name__)

    runner = asyncio.create_task(load())
    closes: list[int | None] = []
    for index in range(2):
        node = stack.webs[index]
        ws = await _socket(stack, owner, node.name)
        node.signal(signal.SIGTERM)
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 15)
        closes.append(ws.close_code)
        assert await asyncio.to_thread(node.wait, 30) in (0, -signal.SIGTERM)
        await stack.served_by(stack.restart(node).name)
    stop.set()
    await runner
    failed = [r for r in results if r != 200]
    assert len(results) > 50 and not failed, (len(results), failed[:10])
    assert closes == [1012, 1012]  # "service restart": htmx's ws extension reconnects


async def test_valkey_killed_for_15_seconds(stack: Stack, owner: BrowserClient) -> None:
    worker_pids = [w.pid for w in stack.workers]
    ws = await _socket(stack, owner)
    killed_at = time.monotonic()
    stack.kill_valkey()
    down = await _wait_status(stack, owner, 503, within=6)
    print(f"\nValkey killed: 503 after {time.monotonic() - killed_at:.1f} s")
    assert "briefly unavailable" in down.text and down.headers["retry-after"]
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code in (1011, 1012, 1013, 1006)  # all reconnect in the browser
    await asyncio.sleep(max(0.0, 15 - (time.monotonic() - killed_at)))
    stack.restart_valkey()
    await _wait_status(stack, owner, 200, within=20)  # same session: Valkey kept it
    assert [w.pid for w in stack.workers] == worker_pids and all(w.alive() for w in stack.workers)
    stages = await _stages(owner)
    deal = await _new_deal(owner, "After Valkey", stages["Lead"])
    sockets = [await _socket(stack, owner, "web1"), await _socket(stack, owner, "web2")]
    await _move(owner, deal, stages["Won"])
    for fresh in sockets:  # both nodes resubscribed
        await _pushed(fresh, f"deal-{deal}")
        await fresh.close()
    await _wait_ready(stack, owner, await _request_export(owner))  # the workers work again


async def test_postgresql_stopped_then_back(stack: Stack, owner: BrowserClient) -> None:
    worker_pids = [w.pid for w in stack.workers]
    await asyncio.to_thread(stack.pg.stop)
    started = time.monotonic()
    down = await _wait_status(stack, owner, 503, within=15)
    print(f"\nPostgreSQL stopped: 503 after {time.monotonic() - started:.1f} s")
    assert "briefly unavailable" in down.text and down.headers["retry-after"]
    await asyncio.to_thread(stack.restart_postgres)
    await _wait_status(stack, owner, 200, within=30)
    assert [w.pid for w in stack.workers] == worker_pids and all(w.alive() for w in stack.workers)
    await _wait_ready(stack, owner, await _request_export(owner))
    print(f"\ndeployment scenario and outages: {time.monotonic() - STARTED:.1f} s")


async def _wait_status(
    stack: Stack, client: BrowserClient, status: int, within: float
) -> httpx.Response:
    deadline = time.monotonic() + within
    seen: list[int] = []
    while time.monotonic() < deadline:
        try:
            response = await client.get("/app", timeout=5)
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
            continue
        seen.append(response.status_code)
        if response.status_code == status:
            return response
        await asyncio.sleep(0.2)
    raise AssertionError(f"never {status}; saw {sorted(set(seen))}\n{stack.logs()}")
