"""Piccolo app config for crm."""

from piccolo.conf.apps import AppConfig

from app.crm.tables import Activity, Company, Contact, CrmImport, CrmImportError, Note, Task
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="crm",
    migrations_folder_path=str(ROOT / "migrations" / "crm"),
    table_classes=[Company, Contact, Activity, Note, Task, CrmImport, CrmImportError],
    migration_dependencies=["app.accounts.piccolo_app"],
)
