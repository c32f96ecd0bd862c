"""The embedded servers are our own: never the machine's PostgreSQL on 5432 or Redis on 6379."""

from __future__ import annotations

import os
from typing import Any

import pytest
from redis.asyncio import Redis


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="external server given")
async def test_embedded_postgres_is_ours_on_a_private_socket(
    services: dict[str, str], owner_conn: Any
) -> None:
    url = services["DATABASE_URL"]
    assert "host=/" in url and "127.0.0.1" not in url  # a unix socket, no TCP port taken
    socket_dir = url.split("host=", 1)[1].split("&", 1)[0]
    assert socket_dir.startswith(services["ODEX_DATA_DIR"])  # not /var/run/postgresql
    assert await owner_conn.fetchval("select current_setting('listen_addresses')") == ""
    assert int(await owner_conn.fetchval("select current_setting('server_version_num')")) >= 180000


@pytest.mark.skipif(bool(os.environ.get("TEST_REDIS_URL")), reason="external server given")
async def test_embedded_valkey_is_ours_on_a_free_port(services: dict[str, str]) -> None:
    assert not services["REDIS_URL"].endswith(":6379/0")
    client = Redis.from_url(services["REDIS_URL"])
    try:
        info = await client.info("server")
        assert "valkey_version" in info or info.get("server_name") == "valkey"
        config = await client.config_get("dir")
        directory = next(iter(config.values()))
        directory = directory.decode() if isinstance(directory, bytes) else directory
        assert directory.startswith(services["ODEX_DATA_DIR"])  # not /var/lib/redis
    finally:
        await client.aclose()
