"""Piccolo app config for billing."""

from piccolo.conf.apps import AppConfig

from app.billing.tables import BillingAccount, BillingInvoice, StripeEvent
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="billing",
    migrations_folder_path=str(ROOT / "migrations" / "billing"),
    table_classes=[BillingAccount, BillingInvoice, StripeEvent],
    migration_dependencies=["app.accounts.piccolo_app"],
)
