"""information.html in the access copy: the Art. 15(1)(a)-(h) and 15(2) information, in French and English."""

from __future__ import annotations

from jinja2 import Environment, StrictUndefined, select_autoescape

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ reference }}</title></head>
<body style="font-family:sans-serif;max-width:60em;margin:auto">
{% for lang, t in texts.items() %}
<section lang="{{ lang }}">
<h1>{{ t.title }} ({{ reference }})</h1>
<h2>{{ t.purposes }}</h2>
<ul>{% for p in info.purposes %}<li>{{ p.label[lang] }} ({{ p.legal_basis_label[lang] }})</li>{% endfor %}</ul>
<h2>{{ t.categories }}</h2>
<ul>{% for c in info.categories %}<li>{{ c.label[lang] }} ({{ c.system[lang] }}, {{ t[c.origin] }}{% if c.inferred_fields %}; {{ t.inferred }}: {{ c.inferred_fields|join(", ") }}{% endif %})</li>{% endfor %}</ul>
<h2>{{ t.recipients }}</h2>
<ul>{% for r in info.recipients %}<li>{{ r.name }}, {{ r.country }}{% if r.third_country %} ({{ t.third_country }}){% endif %}: {{ r.purpose[lang] }}. {{ t.safeguard }}: {{ r.safeguard_label[lang] }}</li>{% else %}<li>{{ t.none }}</li>{% endfor %}</ul>
<h2>{{ t.retention }}</h2>
<ul>{% for e in info.retention %}<li>{{ e.category[lang] }} ({{ e.system[lang] }}): {{ e.rule[lang] }}{% if e.until %}. {{ t.until }} {{ e.until }}{% endif %}</li>{% endfor %}</ul>
{% if info.sources %}<h2>{{ t.sources }}</h2>
<ul>{% for s in info.sources %}<li>{{ s.category[lang] }}: {{ s.source[lang] }}</li>{% endfor %}</ul>{% endif %}
<h2>{{ t.automated }}</h2><p>{{ info.automated_decisions.label[lang] }}</p>
<h2>{{ t.rights }}</h2><p>{{ t.rights_text }}</p>
{% if info.unregistered_systems %}<p>{{ t.unregistered }}: {{ info.unregistered_systems|join(", ") }}</p>{% endif %}
</section>
{% endfor %}
</body></html>
"""

TEXTS = {
    "fr": {
        "title": "Informations sur le traitement de vos données (article 15 du RGPD)",
        "purposes": "Finalités et bases légales",
        "categories": "Catégories de données",
        "recipients": "Destinataires",
        "retention": "Durées de conservation",
        "sources": "Origine des données",
        "automated": "Décisions automatisées",
        "rights": "Vos droits",
        "provided": "fournies par vous",
        "observed": "observées",
        "inferred": "déduites par nous",
        "third_country": "hors de l'Union européenne",
        "safeguard": "Garantie",
        "none": "Aucun destinataire",
        "until": "Pour vous : jusqu'au",
        "rights_text": "Vous pouvez demander la rectification, l'effacement, la limitation de vos données ou "
        "vous opposer à leur traitement, et introduire une réclamation auprès de la CNIL "
        "(3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, cnil.fr/fr/plaintes).",
        "unregistered": "Systèmes non encore décrits dans notre registre",
    },
    "en": {
        "title": "Information about the processing of your data (Art. 15 GDPR)",
        "purposes": "Purposes and legal bases",
        "categories": "Categories of data",
        "recipients": "Recipients",
        "retention": "Retention periods",
        "sources": "Where the data came from",
        "automated": "Automated decisions",
        "rights": "Your rights",
        "provided": "provided by you",
        "observed": "observed",
        "inferred": "inferred by us",
        "third_country": "outside the European Union",
        "safeguard": "Safeguard",
        "none": "No recipient",
        "until": "For you: until",
        "rights_text": "You may ask for your data to be rectified, erased or restricted, or object to their "
        "processing, and complain to the CNIL (3 place de Fontenoy, TSA 80715, 75334 Paris "
        "Cedex 07, France, cnil.fr/fr/plaintes).",
        "unregistered": "Systems not yet described in our register",
    },
}

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined)
_PAGE = _ENV.from_string(PAGE)


def render_information(information: dict, reference: str) -> str:
    return _PAGE.render(info=information, reference=reference, texts=TEXTS)
