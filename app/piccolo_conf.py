"""Piccolo configuration: the engine (app role by default, owner for migrations) and the apps.

It lives in the package so that the installed `odex` console script finds it from any
directory (`PICCOLO_CONF=app.piccolo_conf`, set in app/__init__.py); the top-level
piccolo_conf.py only re-exports it for Piccolo's own command line.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.core.domain import DOMAIN_NAMES
from app.settings import ROOT, get_settings

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

# every domain with a piccolo_app.py, in the one domain order (Piccolo then sorts by the apps'
# migration_dependencies)
APP_REGISTRY = AppRegistry(
    apps=[
        f"app.{name}.piccolo_app"
        for name in DOMAIN_NAMES
        if (ROOT / "app" / name / "piccolo_app.py").exists()
    ]
)
