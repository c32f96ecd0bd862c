"""Piccolo app config for security."""

from piccolo.conf.apps import AppConfig

from app.security.tables import (
    AuditChainHead,
    AuditEntry,
    KnownDevice,
    MfaRecoveryCode,
    SecurityAlert,
    TenantSecurity,
    UserMfa,
)
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="security",
    migrations_folder_path=str(ROOT / "migrations" / "security"),
    table_classes=[
        UserMfa,
        MfaRecoveryCode,
        KnownDevice,
        TenantSecurity,
        AuditEntry,
        AuditChainHead,
        SecurityAlert,
    ],
    migration_dependencies=["app.accounts.piccolo_app"],
)
