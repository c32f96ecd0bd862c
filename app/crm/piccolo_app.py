"""Piccolo app config for crm."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("crm")
