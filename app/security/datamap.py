"""The code of the security domain's data map (app/security/datamap.toml): MFA, devices,
sessions, rate limits, the audit log and security alerts. The functions live in
app/security/holdings.py."""

from __future__ import annotations

from app.core.datamap import Treatments
from app.security import holdings as h

TREATMENTS = Treatments(
    read=[h.read_mfa, h.read_devices, h.read_audit, h.read_alerts, h.read_sessions],
    forget_user=[h.forget_audit, h.forget_alerts, h.forget_sessions, h.forget_limits],
    purge=[h.purge_sessions],
    scan=[h.scan_sessions, h.scan_limits],
)
