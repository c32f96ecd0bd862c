"""A worker process that runs one CSV import job, for the test that kills it mid-import."""

from __future__ import annotations

import asyncio
import sys


async def main(tenant_id: str, import_id: str) -> None:
    from app.core import db, redis
    from app.crm.import_jobs import import_crm_csv
    from app.settings import get_settings

    await db.start_pool(max_size=2)
    await redis.connect(get_settings().redis_url)
    await import_crm_csv(None, tenant_id, import_id)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
