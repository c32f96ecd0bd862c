"""Presence: who is looking at a page right now (a Redis sorted set of sockets + TTL heartbeat).

Each open socket is one member, scored with the time its heartbeat expires; a socket of a
process that died simply stops renewing and is pruned by the next heartbeat of anyone else.
"""

from __future__ import annotations

import json
import time
from uuid import UUID

from app.core.redis import redis
from app.core.templating import render_html
from app.realtime.channels import presence_channel, publish

HEARTBEAT_SECONDS = 10.0
TTL_SECONDS = 30.0


def _key(tenant_id: UUID, place: str) -> str:
    return f"presence:{tenant_id}:{place}"


def dom_id(place: str) -> str:
    """The element id of a place's presence list (`board:<uuid>` -> `presence-board-<uuid>`)."""
    return "presence-" + place.replace(":", "-")


async def viewers(tenant_id: UUID, place: str) -> list[dict[str, str]]:
    """The people on `place` now, one entry per user (several tabs count once), by name."""
    # the live entries only (heartbeat not yet expired), in one read: expired ones are left for
    # the next heartbeat to prune (and the key expires with its last heartbeat)
    live = f"({time.time()!r}"  # scored after now (exclusive), as the pruning left them
    members = await redis().zrangebyscore(_key(tenant_id, place), live, "+inf")
    people: dict[str, dict[str, str]] = {}
    for raw in members:
        member = json.loads(raw)
        people[member["u"]] = {"user_id": member["u"], "name": member["n"]}
    return sorted(people.values(), key=lambda p: p["name"].lower())


def render_presence(place: str, people: list[dict[str, str]]) -> str:
    """The presence list as an out-of-band fragment (also included in the page itself)."""
    ctx: dict[str, object] = {"presence_id": dom_id(place), "people": people, "oob": True}
    return render_html("realtime/presence.html", ctx)


async def announce(tenant_id: UUID, place: str) -> None:
    """Push the current presence list of `place` to the tenant's presence channel."""
    html = render_presence(place, await viewers(tenant_id, place))
    await publish(presence_channel(tenant_id), html)


def _member(socket_id: str, user_id: UUID, name: str) -> str:
    return json.dumps({"c": socket_id, "u": str(user_id), "n": name}, sort_keys=True)


async def join(tenant_id: UUID, place: str, socket_id: str, user_id: UUID, name: str) -> None:
    key = _key(tenant_id, place)
    await redis().zadd(key, {_member(socket_id, user_id, name): time.time() + TTL_SECONDS})
    await redis().expire(key, int(TTL_SECONDS * 2))
    await announce(tenant_id, place)


async def heartbeat(tenant_id: UUID, place: str, socket_id: str, user_id: UUID, name: str) -> None:
    """Renew this socket's entry; announce again if someone else's entry expired meanwhile."""
    key = _key(tenant_id, place)
    pruned = await redis().zremrangebyscore(key, "-inf", time.time())
    await redis().zadd(key, {_member(socket_id, user_id, name): time.time() + TTL_SECONDS})
    await redis().expire(key, int(TTL_SECONDS * 2))
    if pruned:
        await announce(tenant_id, place)


async def leave(tenant_id: UUID, place: str, socket_id: str, user_id: UUID, name: str) -> None:
    await redis().zrem(_key(tenant_id, place), _member(socket_id, user_id, name))
    await announce(tenant_id, place)
