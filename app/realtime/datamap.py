"""Where real time keeps personal data: presence (who looks at a page now), for seconds."""

from __future__ import annotations

from uuid import UUID

from app.core.datamap import Subject, redis_family, redis_keys, redis_keys_holding, register
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


register(
    redis_family(
        "presence",
        "realtime",
        ("user",),
        "who has a page open: user id and name per open socket",
        "presence:*",
        retention="30 seconds after the socket's last heartbeat",
        access="seen by the people on the same page",
        export="not exported",
        erasure="not affected",
        account_deletion="the person's entries are removed",
        workspace_purge="the workspace's sets are deleted",
        forget_user=_forget_presence,
        purge=_purge_presence,
    )
)
