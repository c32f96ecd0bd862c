"""Piccolo app config for deals."""

from piccolo.conf.apps import AppConfig

from app.deals.tables import Deal, DealContact, Pipeline, Stage
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="deals",
    migrations_folder_path=str(ROOT / "migrations" / "deals"),
    table_classes=[Pipeline, Stage, Deal, DealContact],
    migration_dependencies=["app.accounts.piccolo_app", "app.crm.piccolo_app"],
)
