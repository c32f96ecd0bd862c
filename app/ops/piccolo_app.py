"""Piccolo app config for ops."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("ops")
