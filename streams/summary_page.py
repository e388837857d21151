"""summary.html in the access copy: the person's data, system by system, as readable tables (Art. 15(3))."""

from __future__ import annotations

import json

from jinja2 import Environment, StrictUndefined, select_autoescape

from mail.names import system_label

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ reference }}</title>
<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse;margin:0 0 1.5em}
td,th{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#eee}</style></head>
<body>
<h1>Vos données personnelles / Your personal data ({{ reference }})</h1>
<p>Un tableau par catégorie de données et par système ; les champs marqués * ont été déduits par nous.
One table per category of data and per system; fields marked * were inferred by us.</p>
{% for system in systems %}
<h2>{{ system.label }}</h2>
{% for category in system.categories %}
<h3>{{ category.name }} ({{ category.rows|length }})</h3>
<table><tr>{% for column in category.columns %}<th>{{ column }}{% if column in category.inferred %} *{% endif %}</th>{% endfor %}</tr>
{% for row in category.rows %}<tr>{% for column in category.columns %}<td>{{ row.get(column, "") }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}
{% else %}
<p>Aucune donnée / No data.</p>
{% endfor %}
</body></html>
"""

_PAGE = Environment(
    autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined
).from_string(PAGE)
HIDDEN = frozenset({"_inferred_fields"})


def render_summary(parts: dict[str, dict[str, list[dict]]], reference: str) -> str:
    systems = [
        {"label": _label(name), "categories": [_category(c, rows) for c, rows in sorted(records.items()) if rows]}
        for name, records in sorted(parts.items())
    ]
    return _PAGE.render(systems=systems, reference=reference)


def _label(system: str) -> str:
    label = system_label(system)
    return f"{label['fr']} / {label['en']}" if isinstance(label, dict) else label


def _category(name: str, rows: list[dict]) -> dict:
    columns = [c for c in dict.fromkeys(k for row in rows for k in row) if c not in HIDDEN]
    inferred = {f for row in rows for f in row.get("_inferred_fields", ())}
    shown = [{c: _text(row.get(c)) for c in columns} for row in rows]
    return {"name": name, "columns": columns, "rows": shown, "inferred": inferred}


def _text(value) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
