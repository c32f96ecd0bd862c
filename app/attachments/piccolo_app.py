"""Piccolo app config for attachments."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("attachments", after=("accounts", "crm", "deals", "invoices"))
