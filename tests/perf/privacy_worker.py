"""A one-job worker process for the privacy benchmarks: runs an export or a purge (or nothing,
for the memory floor) and prints its wall time and peak resident memory as JSON."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


async def main(kind: str, *args: str) -> None:
    from app.core import db, redis
    from app.privacy.export import run_export
    from app.privacy.purge import purge_deletion
    from app.settings import get_settings

    await db.start_pool(max_size=2)
    await redis.connect(get_settings().redis_url)
    started = time.perf_counter()
    if kind == "export":
        await run_export(None, args[0], args[1])
    elif kind == "purge":
        await purge_deletion(None, args[0])
    else:  # the floor: same imports, pool and Redis, one query
        async with db.global_transaction() as conn:
            await conn.fetchval("select 1")
    elapsed = time.perf_counter() - started
    await redis.disconnect()
    await db.close_pool()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], *sys.argv[2:]))
