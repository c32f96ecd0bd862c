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


# (tenant, place) -> (when read, the viewers then): the list a page starts with, read from
# Redis at most once a RECENT_SECONDS per place by this process (the page's socket joins at
# once, and that join pushes the live list to every viewer, this one too); the most recent
# RECENT_KEPT places only
_recent: dict[tuple[UUID, str], tuple[float, list[dict[str, str]]]] = {}
RECENT_SECONDS = 1.0
RECENT_KEPT = 4096


def _remember(tenant_id: UUID, place: str, people: list[dict[str, str]]) -> None:
    key = (tenant_id, place)
    _recent.pop(key, None)
    if len(_recent) >= RECENT_KEPT:
        del _recent[next(iter(_recent))]
    _recent[key] = (time.monotonic(), people)


async def recent_viewers(tenant_id: UUID, place: str) -> list[dict[str, str]]:
    """`viewers`, as this process read them less than RECENT_SECONDS ago (a page's first
    paint: under load, one read a second per place instead of one per page), or read now."""
    found = _recent.get((tenant_id, place))
    if found is not None and time.monotonic() - found[0] < RECENT_SECONDS:
        return found[1]
    people = await viewers(tenant_id, place)
    _remember(tenant_id, place, people)
    return people


def render_presence(place: str, people: list[dict[str, str]]) -> str:
    """The presence list as an out-of-band fragment (also included in the page itself)."""
    ctx: dict[str, object] = {"presence_id": dom_id(place), "people": people, "oob": True}
    return render_html("realtime/presence.html", ctx)


async def announce(tenant_id: UUID, place: str) -> None:
    """Push the current presence list of `place` to the tenant's presence channel."""
    people = await viewers(tenant_id, place)
    _remember(tenant_id, place, people)  # a join or leave here shows on this process's next page
    html = render_presence(place, people)
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
