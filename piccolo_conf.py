"""Piccolo's command line looks for a top-level piccolo_conf: the real one is app/piccolo_conf."""

from app.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
