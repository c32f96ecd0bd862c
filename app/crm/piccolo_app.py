"""Piccolo app config for crm."""

from piccolo.conf.apps import AppConfig

from app.crm.tables import Company, Contact
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="crm",
    migrations_folder_path=str(ROOT / "migrations" / "crm"),
    table_classes=[Company, Contact],
    migration_dependencies=["app.accounts.piccolo_app"],
)
