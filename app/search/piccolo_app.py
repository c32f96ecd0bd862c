"""Piccolo app config for search (indexes on other domains' tables, after theirs)."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("search", after=("accounts", "crm", "deals", "invoices"))
