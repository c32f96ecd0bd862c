"""Piccolo app config for jobs."""

from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("jobs")
