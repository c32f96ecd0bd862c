"""Piccolo tables of the billing app (DDL and RLS live in migrations/billing)."""

from piccolo.columns import UUID, BigInt, Boolean, Text, Timestamptz
from piccolo.columns.column_types import JSONB
from piccolo.table import Table

from app.core.columns import Stamped


class BillingAccount(Stamped, Table, tablename="billing_accounts"):
    """A tenant's plan and the Stripe subscription behind it (ids only, never card data)."""

    tenant_id = UUID(primary_key=True)
    plan = Text(default="free")
    status = Text(default="none")
    stripe_customer_id = Text(null=True, default=None)
    stripe_subscription_id = Text(null=True, default=None)
    stripe_price_id = Text(null=True, default=None)
    subscription_created = BigInt(null=True, default=None)
    current_period_end = Timestamptz(null=True, default=None)
    cancel_at_period_end = Boolean(default=False)
    trial_end = Timestamptz(null=True, default=None)
    grace_until = Timestamptz(null=True, default=None)
    grace_notice_for = Timestamptz(null=True, default=None)
    state_at = BigInt(default=0)


class BillingInvoice(Table, tablename="billing_invoices"):
    """A Stripe invoice of the tenant, as last reported by a webhook."""

    tenant_id = UUID()
    # the database's key is (tenant_id, stripe_invoice_id); Piccolo needs one column
    stripe_invoice_id = Text(primary_key=True)
    number = Text(null=True, default=None)
    status = Text()
    amount_due = BigInt(default=0)
    amount_paid = BigInt(default=0)
    currency = Text(default="usd")
    hosted_invoice_url = Text(null=True, default=None)
    invoice_created = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class StripeEvent(Table, tablename="stripe_events"):
    """A verified webhook event, stored once under Stripe's id, processed by a job."""

    id = Text(primary_key=True)
    type = Text()
    created = BigInt()
    livemode = Boolean(default=False)
    payload = JSONB()
    received_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)
    outcome = Text(null=True, default=None)
