"""Piccolo app config for security."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("security")
