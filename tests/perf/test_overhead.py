"""The fixed cost of a signed-in request: server CPU milliseconds per request of the lightest
signed-in page (the header's alerts badge: the session, the consent state, the signed-in
user's check, one count), beside the hello-world floor served the same way. What every page
pays outside its handler (middleware, session, consent, the user's check, headers, logs)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from tests.helpers import Account
from tests.perf.load import Load, assert_clean, run_wrk
from tests.perf.report import record
from tests.perf.test_pages import _get, _hello, _pid, _sessions, _start

LIGHT = "/settings/alerts/badge"
CONNECTIONS = 16
ROUNDS = int(os.environ.get("BENCH_OVERHEAD_ROUNDS", "2"))


def cpu_ms(load: Load) -> float:
    """Server CPU milliseconds per request of a wrk run."""
    return load.server_cpu * 1000 / load.requests


async def test_light_page_cpu_per_request_vs_hello_world(
    services: dict[str, str], app: Any, tenant_a: Account
) -> None:
    (cookie,) = await _sessions(app, [tenant_a])
    server, hello = _start(services)
    light: list[Load] = []
    floor: list[Load] = []
    try:
        page = await _get(server.url + LIGHT, cookie)
        assert page.status_code == 200 and "<" in page.text, page.status_code
        for round_ in range(ROUNDS):  # interleaved: a neighbour's load moves both alike
            floor.append(await asyncio.to_thread(_hello, hello, CONNECTIONS))
            load = await asyncio.to_thread(
                run_wrk, server.url, [LIGHT], server_pids=[_pid(server)], cookies=[cookie],
                connections=CONNECTIONS, expect="", profile=f"light {round_}",
            )  # fmt: skip
            assert_clean(load, "light page")
            light.append(load)
    finally:
        server.stop()
        hello.stop()
    page_ms = min(cpu_ms(load) for load in light)
    hello_ms = min(cpu_ms(load) for load in floor)
    print(
        f"\nlight page {LIGHT}: "
        + ", ".join(f"{cpu_ms(x):.3f} ms ({x.rps:.0f} req/s)" for x in light)
        + "\nhello-world: "
        + ", ".join(f"{cpu_ms(x):.3f} ms ({x.rps:.0f} req/s)" for x in floor)
    )
    record(
        "light page server CPU per request",
        page_ms,
        "ms",
        floor=hello_ms,
        floor_what="hello-world",
        detail={"light": [x.summary() for x in light], "hello": [x.summary() for x in floor]},
    )
