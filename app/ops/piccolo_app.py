"""Piccolo app config for ops (the backups register)."""

from piccolo.conf.apps import AppConfig

from app.ops.tables import Backup, OperatorAlert
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="ops",
    migrations_folder_path=str(ROOT / "migrations" / "ops"),
    table_classes=[Backup, OperatorAlert],
    migration_dependencies=["app.accounts.piccolo_app"],
)
