"""Piccolo configuration: the engine (app role by default, owner for migrations) and the apps.

It lives in the package so that the installed `odex` console script finds it from any
directory (`PICCOLO_CONF=app.piccolo_conf`, set in app/__init__.py); the top-level
piccolo_conf.py only re-exports it for Piccolo's own command line.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.settings import get_settings

_settings = get_settings()
_owner = os.environ.get("ODEX_DB_ROLE") == "owner"
_url = _settings.migration_database_url if _owner else _settings.database_url

DB = PostgresEngine(
    config={
        "dsn": _url,
        # 0 through PgBouncer in transaction mode: its server connections change under asyncpg
        # between transactions, so named prepared statements must not be cached.
        "statement_cache_size": _settings.database_statement_cache_size,
        # an unreachable server fails a request in seconds (503), not after asyncpg's 60 s
        "timeout": 5,
    }
)

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
        "app.jobs.piccolo_app",
    ]
)
