"""Piccolo app config for support."""

from piccolo.conf.apps import AppConfig

from app.settings import ROOT
from app.support.tables import SupportMessage, SupportTicket

APP_CONFIG = AppConfig(
    app_name="support",
    migrations_folder_path=str(ROOT / "migrations" / "support"),
    table_classes=[SupportTicket, SupportMessage],
    migration_dependencies=["app.accounts.piccolo_app"],
)
