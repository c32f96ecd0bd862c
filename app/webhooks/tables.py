"""Piccolo tables of the webhooks app (DDL, RLS and grants live in migrations/webhooks)."""

from piccolo.columns import UUID, Array, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Created, Finished, Stamped, TenantRow, Versioned


class WebhookSubscription(TenantRow, Versioned, Stamped, Table, tablename="webhook_subscriptions"):
    """An address of the workspace's that is told of the chosen events, signed with a secret."""

    url = Text()
    events = Array(base_column=Text())
    # read scopes ("contacts:read", ...) and whether emails and phones are sent (scopes.py)
    scopes = Array(base_column=Text())
    personal_data = Boolean(default=False)
    description = Text(default="")
    secret_enc = Text()  # ciphertext (app/core/crypto.py), bound to the row
    # after a rotation: the replaced secret (ciphertext) still signs deliveries until then
    previous_secret_enc = Text(null=True, default=None)
    previous_secret_until = Timestamptz(null=True, default=None)
    enabled = Boolean(default=True)
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Text(null=True, default=None)
    consecutive_failures = Integer(default=0)
    failing_since = Timestamptz(null=True, default=None)
    last_success_at = Timestamptz(null=True, default=None)
    created_by = UUID(null=True, default=None)


class WebhookDelivery(TenantRow, Created, Finished, Table, tablename="webhook_deliveries"):
    """One event for one subscription: the body sent and what became of it."""

    subscription_id = UUID()
    seq = BigSerial()
    event_id = UUID()
    event = Text()
    order_key = Text()  # "<object>:<id>": one record's deliveries go out in seq order
    payload = Text()
    status = Text(default="pending")  # pending | delivered | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_attempt_at = Timestamptz(null=True, default=None)
    response_status = Integer(null=True, default=None)
    latency_ms = Integer(null=True, default=None)
    response_excerpt = Text(null=True, default=None)
    redelivery_of = UUID(null=True, default=None)
