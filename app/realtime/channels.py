"""The channels plugin (Redis pub/sub) and `publish`, how every domain pushes HTML fragments.

Channels: `board:<tenant>`, `feed:<user>`, `alerts:<tenant>` (admins), `presence:<tenant>`.
Messages are HTML fragments with `hx-swap-oob`, swapped by htmx's websocket extension.
"""

from __future__ import annotations

import logging
from uuid import UUID

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import RedisError

from app.core.redis import redis
from app.realtime.outage import ResilientPubSubBackend

log = logging.getLogger("odex.realtime")
_state: dict[str, object] = {}


def board_channel(tenant_id: UUID | str) -> str:
    return f"board:{tenant_id}"


def feed_channel(user_id: UUID | str) -> str:
    return f"feed:{user_id}"


def alerts_channel(tenant_id: UUID | str) -> str:
    return f"alerts:{tenant_id}"


def presence_channel(tenant_id: UUID | str) -> str:
    return f"presence:{tenant_id}"


def create_channels_plugin(redis_url: str) -> ChannelsPlugin:
    """Build the plugin for one app (call inside create_app, so the client binds to its loop).

    Its backend rides out Valkey outages: it reconnects, resubscribes and closes the sockets
    whose pushes were lost, so the browsers reconnect and re-read (app/realtime/outage.py).
    """
    backend = ResilientPubSubBackend(redis_url)
    plugin = ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        # a slow browser must not hold the process's memory: keep its newest 500 messages
        subscriber_max_backlog=500,
        subscriber_backlog_strategy="dropleft",
    )
    _state["plugin"] = plugin
    _state["backend"] = backend
    return plugin


def channels_plugin() -> ChannelsPlugin:
    """This process's plugin (only web processes have one)."""
    plugin = _state.get("plugin")
    if plugin is None:
        raise RuntimeError("no ChannelsPlugin: create_app() was not called in this process")
    assert isinstance(plugin, ChannelsPlugin)
    return plugin


async def publish(channel: str, html: str) -> None:
    """Send an HTML fragment to every socket subscribed to `channel`, in every web process.

    Call it after commit (`after_commit(lambda: publish(...))`): events never announce
    rolled-back writes. Workers have no plugin and publish through the same Redis backend.
    Delivery is best effort: a Redis failure is logged, never raised into the request.
    """
    try:
        plugin = _state.get("plugin")
        if isinstance(plugin, ChannelsPlugin):
            await plugin.wait_published(html, [channel])
            return
        await RedisChannelsPubSubBackend(redis=redis()).publish(html.encode(), [channel])
    except (RedisError, OSError) as exc:
        # the write is committed; a page that missed the push shows it on its next load
        log.warning("publish to %s failed: %s", channel.split(":", 1)[0], exc)
