"""The Piccolo app of a domain, made from its folder: no hand-copied list of its tables."""

from __future__ import annotations

import importlib

from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from app.settings import ROOT


def domain_app(
    name: str, after: tuple[str, ...] = ("accounts",), extra: tuple[type[Table], ...] = ()
) -> AppConfig:
    """App ``name``: `extra` tables (defined elsewhere, e.g. in core) and every Table class
    that ``app/<name>/tables.py`` defines, in the order written; its migrations run after
    those of the `after` apps."""
    module = importlib.import_module(f"app.{name}.tables")
    own = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Table)
        and value.__module__ == module.__name__
    ]
    return AppConfig(
        app_name=name,
        migrations_folder_path=str(ROOT / "migrations" / name),
        table_classes=[*extra, *own],
        migration_dependencies=[f"app.{other}.piccolo_app" for other in after],
    )
