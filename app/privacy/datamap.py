"""The code of the privacy domain's data map (app/privacy/datamap.toml): consents, usage,
exports, deletion records. The functions live in app/privacy/holdings.py."""

from __future__ import annotations

from app.core.datamap import Treatments
from app.privacy import holdings as h

TREATMENTS = Treatments(
    read=[h.read_consents, h.read_usage, h.read_exports, h.read_policy],
    erase=[h.erase_usage_paths],
    forget_user=[
        h.forget_consents,
        h.forget_usage,
        h.forget_exports,
        h.forget_buffer,
        h.forget_policy_keys,
    ],
    purge=[h.purge_buffer, h.purge_export_files],
    scan=[h.scan_export_files],
)
