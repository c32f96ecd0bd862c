"""Piccolo app config for accounts."""

from piccolo.conf.apps import AppConfig

from app.accounts.tables import (
    EmailToken,
    ExchangeRate,
    Invitation,
    Membership,
    SellerDetails,
    Tenant,
    User,
)
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(ROOT / "migrations" / "accounts"),
    table_classes=[Tenant, User, Membership, Invitation, EmailToken, SellerDetails, ExchangeRate],
    migration_dependencies=[],
)
