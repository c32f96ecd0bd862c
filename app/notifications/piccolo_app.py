"""Piccolo app config for notifications."""

from app.core.mail import OutboxMessage
from app.core.piccolo_apps import domain_app

APP_CONFIG = domain_app("notifications", extra=(OutboxMessage,))
