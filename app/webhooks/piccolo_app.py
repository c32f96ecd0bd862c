"""Piccolo app config for webhooks."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("webhooks")
