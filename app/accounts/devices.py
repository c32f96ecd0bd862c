"""Devices: a readable browser/OS from a User-Agent, the devices each user signed in from, and
the trusted-device cookie that lets an account's owner past a lockout an attacker caused.

The lockout must not depend on anything a client chooses: a user-agent can be copied and behind
a proxy everyone shares an address. So the bypass is a random token the server issued to the
browser at a successful sign-in (HttpOnly cookie), stored only as a keyed hash bound to the
user; nobody can present one for an account they never signed in to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from uuid import UUID

from app.accounts import queries
from app.core.db import global_transaction
from app.core.redis import redis
from app.core.useragent import classify
from app.settings import Settings, get_settings

DEVICE_COOKIE_DAYS = 180


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
        had_any = await queries.has_devices(conn, user_id)
        inserted = await queries.remember_device(
            conn, user_id, digest, describe(user_agent), datetime.now(UTC)
        )
    return inserted, had_any


def device_cookie_name(settings: Settings) -> str:
    return "__Host-odex_device" if settings.secure_cookies else "odex_device"


def _device_key(user_id: UUID, token: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{user_id}|{token}".encode(), hashlib.sha256).hexdigest()
    return f"lock:device:{digest[:40]}"


async def trust_this_device(user_id: UUID, token: str | None) -> str:
    """After a successful sign-in: (re)issue the browser's trusted-device token for the user."""
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    await redis().set(_device_key(user_id, token), b"1", ex=DEVICE_COOKIE_DAYS * 86400)
    return token


async def is_trusted_device(user_id: UUID, token: str | None) -> bool:
    """Did this browser sign in to this account before (it holds the token we gave it)?"""
    if not token or len(token) > 100:
        return False
    return bool(await redis().exists(_device_key(user_id, token)))
