"""Piccolo tables of the accounts app (DDL and RLS live in migrations/accounts)."""

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Numeric, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Char, Created, Revocable, Stamped, TenantRow, UuidKey, Versioned


class Tenant(UuidKey, Stamped, Table, tablename="tenants"):
    """A workspace: one company's isolated CRM."""

    name = Text()
    status = Text(default="active")
    default_currency = Char(length=3, default="EUR")  # deal totals on the board
    currency_version = Integer(default=1)  # bumped by every currency/rates save


class ExchangeRate(Table, tablename="exchange_rates"):
    """One unit of `currency` is `rate` units of the workspace's default currency (admins
    keep them on Company settings; the primary key is (tenant_id, currency))."""

    tenant_id = UUID(primary_key=True)
    currency = Char(length=3)
    rate = Numeric(digits=(20, 10))
    updated_at = Timestamptz()


class SellerDetails(Versioned, Table, tablename="seller_details"):
    """What a workspace prints on its invoices as the seller (one versioned row, admins edit)."""

    tenant_id = UUID(primary_key=True)
    legal_name = Text(default="")
    address = Text(default="")
    vat_id = Text(default="")
    payment_details = Text(default="")
    invoice_footer = Text(default="")
    updated_by = UUID(null=True, default=None)
    updated_at = Timestamptz()


class User(UuidKey, Stamped, Table, tablename="users"):
    """A person's login identity (global: it exists before and across workspaces)."""

    email = Text()
    name = Text()
    password_hash = Text()
    email_verified_at = Timestamptz(null=True, default=None)
    is_staff = Boolean(default=False)
    time_zone = Text(default="UTC")
    locale = Text(default="en-GB")


class Membership(TenantRow, Created, Table, tablename="memberships"):
    """A user's role in a tenant. Its workspace and user are foreign keys (as in the
    migration), so Piccolo joins through them: `Membership.user_id.name`."""

    tenant_id = ForeignKey(Tenant, null=False)
    user_id = ForeignKey(User, null=False)
    role = Text()
    onboarding_hidden_at = Timestamptz(null=True, default=None)


class Invitation(TenantRow, Created, Revocable, Table, tablename="invitations"):
    """An open, accepted or revoked invitation of an email address to a tenant."""

    email = Text()
    role = Text()
    invited_by = UUID(null=True, default=None)
    accepted_at = Timestamptz(null=True, default=None)


class EmailToken(Created, Table, tablename="email_tokens"):
    """A single-use mailed token (only its SHA-256 hash is stored)."""

    token_hash = Text(primary_key=True)
    purpose = Text()
    user_id = UUID(null=True, default=None)
    target_tenant_id = UUID(null=True, default=None)
    ref_id = UUID(null=True, default=None)
    email = Text()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
