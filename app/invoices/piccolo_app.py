"""Piccolo app config for invoices."""

from piccolo.conf.apps import AppConfig

from app.invoices.tables import Invoice, InvoiceCounter, InvoiceLine, InvoiceSend
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="invoices",
    migrations_folder_path=str(ROOT / "migrations" / "invoices"),
    table_classes=[InvoiceCounter, Invoice, InvoiceLine, InvoiceSend],
    migration_dependencies=[
        "app.accounts.piccolo_app",
        "app.crm.piccolo_app",
        "app.deals.piccolo_app",
    ],
)
