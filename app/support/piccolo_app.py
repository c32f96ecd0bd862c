"""Piccolo app config for support."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("support")
