"""Retention: once a day, every place on the data map that has an ``expire`` handler deletes
what has outlived its retention (sent mail, used tokens, uploads never imported…)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from app.core import datamap
from app.core.redis import redis

log = logging.getLogger("odex.privacy")


async def apply_retention(
    ctx: dict[str, object] | None = None, *, force: bool = False
) -> dict[str, int]:
    """Daily cron (and at worker start; arq doesn't catch up missed runs): each place's sweep,
    once a day. Returns how much each place deleted."""
    today = datetime.now(UTC).date().isoformat()
    if not force and not await redis().set(
        f"privacy:retention:{today}", b"1", nx=True, ex=2 * 86400
    ):
        return {}
    done: dict[str, int] = {}
    for place in datamap.places():
        if place.expire is not None:
            done[place.name] = await place.expire()
    log.info("retention applied: %s", done)
    return done
