"""Fields (app/core/rows.py): a row dict whose keys read as attributes, so templates find
`row.name` at once; a template renders it exactly as the plain dict (values, missing keys as
undefined, dict methods), and it stays a dict for the code."""

from __future__ import annotations

import jinja2
import pytest

from app.core.rows import Fields

TEMPLATE = (
    "{{ r.name }}|{{ r.missing is defined }}|{{ r.missing or 'none' }}|{{ r['name'] }}"
    "|{{ r.get('name') }}|{{ r.items()|list|length }}|{{ r.emails[0] if r.emails else '' }}"
)


def test_fields_render_as_the_plain_dict() -> None:
    env = jinja2.Environment(autoescape=True)
    template = env.from_string(TEMPLATE)
    plain = {"name": "Ada", "emails": ["ada@example.com"]}
    fields = Fields(plain)
    assert template.render(r=fields) == template.render(r=plain)
    assert template.render(r=fields) == "Ada|False|none|Ada|Ada|2|ada@example.com"
    assert fields == plain and isinstance(fields, dict)
    assert fields.name == "Ada"
    with pytest.raises(AttributeError):
        _ = fields.missing
    strict = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        "{{ r.missing }}"
    )
    with pytest.raises(jinja2.UndefinedError):
        strict.render(r=fields)
