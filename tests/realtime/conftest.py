"""Two real web processes sharing the test PostgreSQL and Valkey (Redis pub/sub between them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realtime.servers import WebProcess, start_many


@pytest.fixture(scope="session")
def two_servers(services: dict[str, str]) -> Iterator[list[WebProcess]]:
    servers = start_many(services, 2)
    yield servers
    for server in servers:
        server.stop()
