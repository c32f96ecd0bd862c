"""Piccolo app config for jobs (the leases of long jobs)."""

from piccolo.conf.apps import AppConfig

from app.jobs.tables import JobRun
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="jobs",
    migrations_folder_path=str(ROOT / "migrations" / "jobs"),
    table_classes=[JobRun],
    migration_dependencies=["app.accounts.piccolo_app"],
)
