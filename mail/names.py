"""Names people understand for systems and kept items, in both languages."""

from __future__ import annotations

SYSTEM_LABELS = {
    "crm": {"fr": "gestion de la relation client (CRM)", "en": "customer relationship management (CRM)"},
    "recruitment": {"fr": "recrutement", "en": "recruitment"},
    "newsletter": {"fr": "lettre d'information", "en": "newsletter"},
    "directives": {"fr": "directives post mortem", "en": "post-mortem directives"},
}
ITEM_LABELS = {
    "invoices": {"fr": "factures", "en": "invoices"},
    "suppression_entry": {
        "fr": "entrée de la liste d'opposition (empreinte de l'adresse)",
        "en": "objection-list entry (fingerprint of the address)",
    },
}


def system_label(system: str) -> dict | str:
    """Names people understand, in both languages; a system plugged in later shows its own name."""
    return SYSTEM_LABELS.get(system, system)


def item_label(item: str, count: int | None, registered: dict | None = None) -> dict | str:
    """A kept item's name: ours, else the register's category label, else its code."""
    label = ITEM_LABELS.get(item) or registered or {"fr": item, "en": item}
    if count is None:
        return label
    return {lang: f"{text} ({count})" for lang, text in label.items()}
