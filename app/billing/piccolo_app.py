"""Piccolo app config for billing."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("billing")
