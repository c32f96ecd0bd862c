"""Devices: a readable browser/OS from a User-Agent, and the devices each user signed in from."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from uuid import UUID

from app.core.db import global_transaction
from app.core.useragent import classify
from app.settings import get_settings


def browser_family(user_agent: str) -> str:
    """ "Firefox", "Chrome", … or "Unknown browser" (the version is left out on purpose)."""
    if not user_agent:
        return "No browser"
    name = classify(user_agent)[0]
    return "Unknown browser" if name == "Other" else name


def operating_system(user_agent: str) -> str:
    name = classify(user_agent)[1]
    return "Unknown system" if name == "Other" else name


def describe(user_agent: str) -> str:
    """What the sessions page and alerts show, e.g. "Firefox on Windows"."""
    return f"{browser_family(user_agent)} on {operating_system(user_agent)}"


def device_hash(user_agent: str, ip: str) -> str:
    """A keyed hash of (browser family, system, IP): known devices are stored only this way."""
    key = get_settings().secret_key.encode()
    material = f"{browser_family(user_agent)}|{operating_system(user_agent)}|{ip}"
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


async def remember_device(user_id: UUID, user_agent: str, ip: str) -> tuple[bool, bool]:
    """Record a sign-in's device; returns (device was new, user had other devices before)."""
    digest = device_hash(user_agent, ip)
    async with global_transaction() as conn:
        had_any = bool(
            await conn.fetchval("select 1 from known_devices where user_id = $1 limit 1", user_id)
        )
        inserted = await conn.fetchval(
            "insert into known_devices (user_id, device_hash, label) values ($1, $2, $3)"
            " on conflict (user_id, device_hash) do update set last_seen = $4"
            " returning (xmax = 0)",
            user_id,
            digest,
            describe(user_agent),
            datetime.now(UTC),
        )
    return bool(inserted), had_any


async def is_known_device(user_id: UUID, user_agent: str, ip: str) -> bool:
    async with global_transaction() as conn:
        return bool(
            await conn.fetchval(
                "select 1 from known_devices where user_id = $1 and device_hash = $2",
                user_id,
                device_hash(user_agent, ip),
            )
        )
