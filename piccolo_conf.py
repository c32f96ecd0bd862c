"""Piccolo configuration: the engine (app role by default, owner for migrations) and the apps."""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.settings import get_settings

_settings = get_settings()
_url = (
    _settings.migration_database_url
    if os.environ.get("ODEX_DB_ROLE") == "owner"
    else _settings.database_url
)

DB = PostgresEngine(config={"dsn": _url})

APP_REGISTRY = AppRegistry(
    apps=[
        "app.accounts.piccolo_app",
        "app.notifications.piccolo_app",
        "app.crm.piccolo_app",
        "app.billing.piccolo_app",
        "app.ops.piccolo_app",
        "app.support.piccolo_app",
        "app.privacy.piccolo_app",
        "app.security.piccolo_app",
        "app.deals.piccolo_app",
        "app.invoices.piccolo_app",
    ]
)
