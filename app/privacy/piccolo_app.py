"""Piccolo app config for privacy."""

from piccolo.conf.apps import AppConfig

from app.privacy.tables import (
    Consent,
    DeletionReport,
    DeletionRequest,
    Export,
    PolicyAck,
    PolicyNotice,
    PolicyVersion,
    UsageEvent,
    VisitorEvent,
)
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="privacy",
    migrations_folder_path=str(ROOT / "migrations" / "privacy"),
    table_classes=[
        Consent,
        UsageEvent,
        VisitorEvent,
        Export,
        DeletionRequest,
        DeletionReport,
        PolicyVersion,
        PolicyNotice,
        PolicyAck,
    ],
    migration_dependencies=[
        "app.accounts.piccolo_app",
        "app.notifications.piccolo_app",
        "app.crm.piccolo_app",
    ],
)
