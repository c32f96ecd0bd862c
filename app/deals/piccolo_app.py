"""Piccolo app config for deals."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("deals", after=("accounts", "crm"))
