"""Access changes announced to a person's open sockets, in every web process.

Removing a member, changing a role, revoking a session, changing a password or deleting an
account publishes one short message on `access:<user id>` (Redis pub/sub, the channel the
websocket of app/realtime subscribes to next to its data channels). Each socket of that user
then re-checks its session and membership and closes or reconnects with its new rights.
"""

from __future__ import annotations

import logging
from uuid import UUID

from redis.exceptions import RedisError

from app.core.redis import redis

log = logging.getLogger("odex.access")

ACCESS_CHANGED = b"odex:access-changed"


def access_channel(user_id: UUID | str) -> str:
    return f"access:{user_id}"


async def announce_access_change(user_id: UUID | str) -> None:
    """Tell `user_id`'s open sockets to re-check their rights (best effort: the sockets also
    re-check on their heartbeat, so a lost message delays, never skips, the revocation)."""
    try:
        await redis().publish(access_channel(user_id), ACCESS_CHANGED)
    except (RedisError, OSError) as exc:
        log.warning("access change for a user not announced: %s", exc)
