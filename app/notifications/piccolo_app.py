"""Piccolo app config for notifications."""

from piccolo.conf.apps import AppConfig

from app.core.mail import OutboxMessage
from app.notifications.tables import Notification
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=str(ROOT / "migrations" / "notifications"),
    table_classes=[OutboxMessage, Notification],
    migration_dependencies=["app.accounts.piccolo_app"],
)
