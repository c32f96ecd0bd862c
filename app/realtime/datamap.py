"""The code of real time's data map (app/realtime/datamap.toml): presence (who looks at a page
now), for seconds."""

from __future__ import annotations

from uuid import UUID

from app.core.datamap import Subject, Treatments, redis_keys, redis_keys_holding
from app.core.redis import redis


async def _forget_presence(subject: Subject) -> int:
    """Drop the person's entries from every presence set."""
    removed = 0
    needle = str(subject.user_id).encode()
    for key in await redis_keys_holding("presence:*", [str(subject.user_id)]):
        members = await redis().zrange(key, 0, -1)
        doomed = [m for m in members if needle in m]
        if doomed:
            removed += int(await redis().zrem(key, *doomed))
    return removed


async def _purge_presence(tenant_id: UUID) -> int:
    keys = await redis_keys(f"presence:{tenant_id}:*")
    return int(await redis().delete(*keys)) if keys else 0


TREATMENTS = Treatments(forget_user=[_forget_presence], purge=[_purge_presence])
