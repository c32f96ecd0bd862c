"""Piccolo app config for api."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("api")
