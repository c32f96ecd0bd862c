"""Odex CRM: a multi-tenant SaaS CRM whose privacy policy is its product spec."""

import os

# A console script does not put the working directory on sys.path, so a top-level
# piccolo_conf.py is not importable from `odex` run elsewhere: point Piccolo at the packaged
# one (an operator's own PICCOLO_CONF still wins).
os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
