"""Piccolo app config for accounts."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("accounts", after=())
