"""Webhooks: rotating a subscription's signing secret. The secret it replaced keeps signing
deliveries beside the new one until `previous_secret_until` (24 hours), so that a receiver can
switch over without refusing a call; ciphertext bound to the row like `secret_enc`."""

from app.core.migrations import sql_migration

ID = "2026-12-02T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook secret rotation"

SQL = """
alter table webhook_subscriptions
    add column previous_secret_enc text,
    add column previous_secret_until timestamptz,
    add constraint webhook_subscriptions_previous_secret
        check ((previous_secret_enc is null) = (previous_secret_until is null));
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "webhooks", DESCRIPTION, SQL)
