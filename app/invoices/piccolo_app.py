"""Piccolo app config for invoices."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("invoices", after=("accounts", "crm", "deals"))
