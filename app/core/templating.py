"""Jinja templates: components/ plus each domain's templates/, rendered whole or by block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block

from app.core import money
from app.settings import ROOT

DOMAINS = (
    "accounts",
    "notifications",
    "core",
    "crm",
    "privacy",
    "billing",
    "security",
    "deals",
    "realtime",
    "invoices",
    "support",
    "ops",
)


def _loaders() -> list[FileSystemLoader]:
    paths = [ROOT / "components"]
    paths += [ROOT / "app" / d / "templates" for d in DOMAINS]
    return [FileSystemLoader(str(p)) for p in paths if Path(p).exists()]


env = Environment(
    loader=ChoiceLoader(_loaders()),
    autoescape=select_autoescape(["html", "xml"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.do"],
)
env.filters["amount"] = money.amount  # {{ total|amount }} -> 12,500.00
env.filters["money"] = money.money  # {{ total|money(currency) }} -> 12,500.00 EUR


def render_html(template: str, context: dict[str, Any], block: str | None = None) -> str:
    """Render a template, or just one named block of it (for htmx swaps and websocket pushes)."""
    if block is None:
        return env.get_template(template).render(context)
    return render_block(env, template, block, context)


# The UI macros are a global, so a block rendered on its own (htmx swap, websocket push) sees
# them just like the full page does.
env.globals["ui"] = env.get_template("ui/macros.html").make_module()
