"""Piccolo app config for privacy."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("privacy", after=("accounts", "notifications", "crm"))
