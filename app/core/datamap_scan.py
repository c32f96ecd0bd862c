"""The data map's runtime helpers: the data directory, statements run in every workspace,
the Redis scans, and the paged and formatted reads the domains' map entries use (re-exported
by app.core.datamap, where the domains import them from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from app.core.paging import NEWEST_FIRST, Params, keyset_page


def data_dir() -> Path:
    from app.settings import get_settings

    return Path(get_settings().data_dir)


def tenant_folders(root: Path) -> list[tuple[UUID, Path]]:
    """The folders under `root` named by a workspace id (others are passed over), with it."""
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            found.append((UUID(folder.name), folder))
        except ValueError:
            continue
    return [(tenant_id, folder) for tenant_id, folder in found if folder.is_dir()]


# --- helpers the domains' handlers share ---------------------------------------------------


async def in_each_tenant(tenant_ids: tuple[UUID, ...], sql: str, *args: object) -> int:
    """Run one statement in each of `tenant_ids` (its own tenant transaction); rows affected."""
    from app.core.db import tenant_transaction

    total = 0
    for tenant_id in tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            status = await conn.execute(sql, *args)
        total += int(status.split()[-1]) if status.split()[-1].isdigit() else 0
    return total


async def count_in_each_tenant(tenant_ids: tuple[UUID, ...], sql: str, *args: object) -> int:
    """Sum of a count query run in each of `tenant_ids`."""
    from app.core.db import tenant_transaction

    total = 0
    for tenant_id in tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            total += int(await conn.fetchval(sql, *args) or 0)
    return total


def like_any(needles: list[str]) -> list[str]:
    """ILIKE patterns that find any of `needles` inside a text (wildcards escaped)."""
    escaped = (n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for n in needles)
    return [f"%{n}%" for n in escaped]


async def redis_keys(pattern: str) -> list[bytes]:
    """Every key matching `pattern` (SCAN, never KEYS: it does not block the server)."""
    from app.core.redis import redis

    return [key async for key in redis().scan_iter(match=pattern, count=1000)]


async def redis_value(key: bytes) -> bytes:
    """A key's whole value as bytes, whatever its type (to look for a subject's ids in it)."""
    from app.core.redis import redis

    client: Any = redis()  # redis-py's stubs type keys as str; ours are bytes
    kind = (await client.type(key)).decode()
    if kind == "string":
        return bytes(await client.get(key) or b"")
    if kind == "list":
        items = await client.lrange(key, 0, -1)
    elif kind == "set":
        items = list(await client.smembers(key))
    elif kind == "zset":
        items = await client.zrange(key, 0, -1)
    elif kind == "hash":
        pairs = await client.hgetall(key)
        items = [k + b"=" + v for k, v in pairs.items()]
    else:  # streams and others are not used for data
        items = []
    return b"\n".join(items)


async def redis_keys_holding(pattern: str, needles: list[str]) -> list[bytes]:
    """Keys matching `pattern` whose name or value contains one of `needles` (any case)."""
    wanted = [n.lower().encode() for n in needles if n]
    found = []
    for key in await redis_keys(pattern):
        if any(n in key.lower() for n in wanted):
            found.append(key)
            continue
        value = (await redis_value(key)).lower()
        if any(n in value for n in wanted):
            found.append(key)
    return found


async def time_page(
    tenant_id: UUID,
    table: str,
    columns: str,
    where: str,
    user_id: UUID,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, object]], int, str | None]:
    """One newest-first page of a user's rows of a tenant table (``where`` uses ``$1``, the
    user id; the table has ``id`` and ``created_at``): (rows, total, next page's cursor)."""
    from app.core.db import tenant_transaction

    params = Params()
    params.add(user_id)
    async with tenant_transaction(tenant_id) as conn:
        total = await conn.fetchval(f"select count(*) from {table} where {where}", user_id)
        page = await keyset_page(
            conn,
            select=f"id, created_at, {columns}",
            from_sql=table,
            where=[f"({where})"],
            params=params,
            spec=NEWEST_FIRST,
            after=after,
            limit=limit,
        )
    return page.rows, int(total), page.next_cursor


def utc(expr: str) -> str:
    """SQL turning a timestamptz into spreadsheet-friendly text: ``2026-01-31 14:05:00``."""
    return f"to_char(({expr}) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')"


def joined(expr: str) -> str:
    """SQL writing a text[] as ``a; b`` (what the CSV import reads back as a list)."""
    return f"array_to_string({expr}, '; ')"
