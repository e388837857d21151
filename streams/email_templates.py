"""Renders the e-mails to data subjects and to the DPO: subject, text and HTML from jinja2."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    Undefined,
    pass_context,
)
from jinja2.runtime import Context

MESSAGE_TYPES: tuple[str, ...] = (
    "form_acknowledgement",
    "receipt",
    "verification",
    "outcome_erasure",
    "outcome_access",
    "outcome_no_data",
    "dpo_task_overdue",
    "dpo_task_failed",
    "dpo_deadline_reminder",
    "dpo_mail_parked",
)
LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"
PARIS = ZoneInfo("Europe/Paris")  # legal days are Paris days (LEGAL §2.1)

# Keys the renderer sets itself; a caller passing them would be silently overridden.
RESERVED_KEYS = ("language", "subject", "as_html")

FORM_KINDS: tuple[str, ...] = ("quote", "contact", "job_application")

RIGHT_LABELS: Mapping[str, Mapping[str, str]] = {
    "access": {"fr": "droit d'accès", "en": "right of access"},
    "erasure": {"fr": "droit à l'effacement", "en": "right to erasure"},
    "rectification": {"fr": "droit de rectification", "en": "right to rectification"},
    "restriction": {
        "fr": "droit à la limitation du traitement",
        "en": "right to restriction of processing",
    },
    "portability": {"fr": "droit à la portabilité", "en": "right to data portability"},
    "objection": {"fr": "droit d'opposition", "en": "right to object"},
    "consent_withdrawal": {"fr": "retrait du consentement", "en": "withdrawal of consent"},
    "post_mortem": {"fr": "directives post mortem", "en": "post-mortem directives"},
}

# The one keep ground that is not a partial refusal; the templates spell it out literally.
SUPPRESSION_GROUND = "suppression_list"

# Why an item survives an erasure (schemas.tasks.KeepGround): the Art. 17(3) GDPR grounds,
# the only grounds for refusing part of an erasure request (R26), plus the suppression list.
KEEP_GROUNDS: Mapping[str, Mapping[str, str]] = {
    "freedom_of_expression": {
        "fr": "exercice du droit à la liberté d'expression et d'information"
        " (article 17, paragraphe 3, point a, du RGPD)",
        "en": "exercise of the right of freedom of expression and information"
        " (Art. 17(3)(a) GDPR)",
    },
    "legal_obligation": {
        "fr": "obligation légale de conservation (article 17, paragraphe 3, point b, du RGPD)",
        "en": "legal obligation to keep the data (Art. 17(3)(b) GDPR)",
    },
    "public_health": {
        "fr": "motifs d'intérêt public dans le domaine de la santé publique"
        " (article 17, paragraphe 3, point c, du RGPD)",
        "en": "public interest in the area of public health (Art. 17(3)(c) GDPR)",
    },
    "archiving_research": {
        "fr": "archivage dans l'intérêt public, recherche scientifique ou historique,"
        " ou statistiques (article 17, paragraphe 3, point d, du RGPD)",
        "en": "archiving in the public interest, scientific or historical research,"
        " or statistics (Art. 17(3)(d) GDPR)",
    },
    "legal_claims": {
        "fr": "constatation, exercice ou défense de droits en justice"
        " (article 17, paragraphe 3, point e, du RGPD)",
        "en": "establishment, exercise or defence of legal claims (Art. 17(3)(e) GDPR)",
    },
    # Not a refusal (Art. 21(3), R45): keeping a keyed hash is what honours the objection, so
    # outcome_erasure lists it apart and gives no remedies paragraph for it alone.
    SUPPRESSION_GROUND: {
        "fr": "liste d'opposition\u00a0: nous conservons uniquement une empreinte non réversible de"
        " votre adresse, au moins 3 ans, pour ne plus vous contacter (article 21, paragraphe 3,"
        " du RGPD et recommandation de la CNIL)",
        "en": "objection list: we keep only a keyed fingerprint of your address, for at least"
        " 3 years, so that we never contact you again (Art. 21(3) GDPR and CNIL guidance)",
    },
}

_MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}
# Line breaks and ASCII blanks only: French subjects keep their no-break spaces (U+00A0).
_LINE_BLANKS = re.compile(r"[ \t\n\r\f\v\x1c-\x1e\x85\u2028\u2029]+")
_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_REDACTED = {"fr": "[adresse masquée]", "en": "[address redacted]"}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _one_line(text: str) -> str:
    """A subject is one header line: no line break may reach the mail headers."""
    return _LINE_BLANKS.sub(" ", text).strip()


def _paris(value: datetime) -> datetime:
    """Aware datetimes are shown in Paris time; naive ones are taken as already local."""
    return value.astimezone(PARIS) if value.tzinfo is not None else value


def longdate(value: date, language: str) -> str:
    """'1er avril 2027' / '5 April 2027'."""
    if not isinstance(value, date):
        raise TypeError(f"longdate expects a date, got {type(value).__name__}: {value!r}")
    if isinstance(value, datetime):
        value = _paris(value).date()
    day = "1er" if language == "fr" and value.day == 1 else str(value.day)
    return f"{day} {_MONTHS[language][value.month - 1]} {value.year}"


def longdatetime(value: datetime, language: str) -> str:
    """'8 mars 2027 à 14 h 30 (heure de Paris)' / '8 March 2027 at 14:30 (Paris time)'."""
    if not isinstance(value, datetime):
        raise TypeError(f"longdatetime expects a datetime, got {type(value).__name__}")
    local = _paris(value)
    day = longdate(local.date(), language)
    if language == "fr":
        text = f"{day} à {local.hour} h {local.minute:02d}"
        return text + (" (heure de Paris)" if value.tzinfo else "")
    return f"{day} at {local:%H:%M}" + (" (Paris time)" if value.tzinfo else "")


def right_label(right: str, language: str) -> str:
    return _label(RIGHT_LABELS, right, language, "right")


def ground_label(ground: str, language: str) -> str:
    return _label(KEEP_GROUNDS, ground, language, "keep ground")


def _label(table: Mapping[str, Mapping[str, str]], key: str, language: str, what: str) -> str:
    if key not in table:
        raise ValueError(f"unknown {what} {key!r}; expected one of: {', '.join(table)}")
    return table[key][language]


def localized(value: str | Mapping[str, str], language: str) -> str:
    """A display string, or a {'fr': ..., 'en': ...} mapping of them."""
    if isinstance(value, Mapping):
        if language not in value:
            raise ValueError(f"no {language!r} text in {dict(value)!r}")
        return value[language]
    return value


def redact_emails(value: str, language: str) -> str:
    """DPO e-mails carry references only; SMTP errors often quote the recipient address."""
    return _EMAIL_ADDRESS.sub(_REDACTED[language], value)


def _in_language(function):
    @pass_context
    def filter_(context: Context, value: Any) -> str:
        if isinstance(value, Undefined):
            str(value)  # StrictUndefined raises UndefinedError, naming the missing key
        return function(value, context["language"])

    return filter_


class EmailRenderer:
    """Renders one message type in one language; fails loudly on any missing value."""

    def __init__(self, template_dir: Path | None = None) -> None:
        self.template_dir = Path(template_dir or DEFAULT_TEMPLATE_DIR)
        self.env = Environment(
            loader=FileSystemLoader(self.template_dir),
            undefined=StrictUndefined,
            autoescape=lambda name: name is not None and name.endswith(".html.j2"),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        for name, function in {
            "longdate": longdate,
            "longdatetime": longdatetime,
            "right_label": right_label,
            "ground_label": ground_label,
            "localized": localized,
            "redact_emails": redact_emails,
        }.items():
            self.env.filters[name] = _in_language(function)

    def render(self, message_type: str, language: str, context: Mapping) -> RenderedEmail:
        values = self._values(message_type, language, context)
        subject = _one_line(self._template(message_type, language, "subject").render(values))
        values["subject"] = subject
        text = self._template(message_type, language, "txt").render(values)
        html = self._template(message_type, language, "html").render(values)
        return RenderedEmail(subject=subject, text=text, html=html)

    def _template(self, message_type: str, language: str, part: str) -> Template:
        return self.env.get_template(f"{message_type}/{language}.{part}.j2")

    @staticmethod
    def _values(message_type: str, language: str, context: Mapping) -> dict[str, Any]:
        _check_choice("message type", message_type, MESSAGE_TYPES)
        _check_choice("language", language, LANGUAGES)
        if context.get("language", language) != language:
            raise ValueError(f"context language {context['language']!r} differs from {language!r}")
        clashes = [key for key in RESERVED_KEYS if key in context and key != "language"]
        if clashes:
            raise ValueError(f"context must not set {', '.join(clashes)}: the renderer sets them")
        if "form_kind" in context:
            _check_choice("form_kind", context["form_kind"], FORM_KINDS)
        return {**context, "language": language}


def _check_choice(what: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(choices)}")


def sample_context(message_type: str) -> dict[str, Any]:
    """Fictitious but realistic values for each message type (tests, dev preview)."""
    _check_choice("message type", message_type, MESSAGE_TYPES)
    return copy.deepcopy({"controller": _SAMPLE_CONTROLLER, **_SAMPLES[message_type]})


_SAMPLE_CONTROLLER = {
    "name": "Maison Services Exemple SAS",
    "dpo_email": "dpo@maison-services.example",
    "postal_address": "12 rue des Artisans, 69003 Lyon, France",
    "privacy_url": "https://www.maison-services.example/confidentialite",
}
# Scenarios GS-01 and GS-06 of LEGAL §6: received 5 Mar 2027, D1 5 Apr 2027.
_CASE = {"case_reference": "DSR-2027-0042", "received_on": date(2027, 3, 5)}
_CRM = {"fr": "Gestion de la relation client (CRM)", "en": "Customer relationship management (CRM)"}
_MAILING = {"fr": "Outil d'e-mailing", "en": "E-mailing tool"}
_SAMPLES: dict[str, dict[str, Any]] = {
    "form_acknowledgement": {
        "reference": "DEV-2027-01183",
        "form_kind": "quote",
        "submitted_on": date(2027, 3, 5),
    },
    "receipt": {**_CASE, "right": "access", "deadline": date(2027, 4, 5)},
    "verification": {
        "case_reference": _CASE["case_reference"],
        "right": "access",
        "verify_url": "https://dsr.maison-services.example/confirmer/3f9c2a7e41b8?lang=fr&s=1",
        "expires_on": date(2027, 3, 12),
    },
    "outcome_erasure": {
        **_CASE,
        "completed_on": date(2027, 4, 1),
        "systems": [
            {"name": _CRM, "erased_items": 14},
            {"name": _MAILING, "erased_items": 37},
            {"name": "Téléphonie (notes d'appels)", "erased_items": 1},
        ],
        "kept": [
            {
                "system": {"fr": "Archive comptable", "en": "Accounting archive"},
                "item": {
                    "fr": "Factures F-2025-0117 et F-2026-0342",
                    "en": "Invoices F-2025-0117 and F-2026-0342",
                },
                "ground": "legal_obligation",
                "until": date(2036, 12, 31),
            },
            {
                "system": {"fr": "Service client", "en": "Customer service"},
                "item": {"fr": "Dossier de réclamation en cours", "en": "Open dispute file"},
                "ground": "legal_claims",
                "until": None,
            },
            {
                "system": _MAILING,
                "item": {
                    "fr": "Empreinte de votre adresse e-mail",
                    "en": "Fingerprint of your e-mail address",
                },
                "ground": SUPPRESSION_GROUND,
                "until": None,
            },
        ],
    },
    "outcome_access": {
        **_CASE,
        "download_url": "https://dsr.maison-services.example/telechargement/8d41c0f2?t=a1&v=2",
        "download_expires_on": date(2027, 4, 19),
        "systems": [
            {"name": _CRM, "item_count": 42},
            {"name": _MAILING, "item_count": 118},
            {"name": {"fr": "Formulaires du site", "en": "Website forms"}, "item_count": 1},
        ],
    },
    "outcome_no_data": {**_CASE, "right": "erasure"},
    "dpo_task_overdue": {
        "case_reference": _CASE["case_reference"],
        "system": "crm",
        "action": "erase",
        "issued_at": datetime(2027, 3, 8, 13, 30, tzinfo=timezone.utc),
        "waited": "2 h",
        "deadline": date(2027, 4, 5),
    },
    "dpo_task_failed": {
        "case_reference": _CASE["case_reference"],
        "system": "crm",
        "action": "erase",
        "error": "OperationalError",
        "deadline": date(2027, 4, 5),
    },
    "dpo_deadline_reminder": {
        "case_reference": _CASE["case_reference"],
        "right": "access",
        "deadline": date(2027, 4, 5),
        "days_left": 5,
        "status": "in_progress",
    },
    "dpo_mail_parked": {
        "case_reference": _CASE["case_reference"],
        "message_type": "outcome_access",
        "attempts": 5,
        "last_error": "550 5.1.1 <jeanne.exemple@example.org>: Recipient address rejected",
    },
}
