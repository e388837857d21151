"""Renders the e-mails to data subjects and to the DPO: subject, text and HTML from jinja2."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
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
    select_autoescape,
)
from jinja2.runtime import Context

from dsr_pipeline_templates import template_folder
from mail.labels import (
    COUNTRY_LABELS,
    DECISION_COMMANDS,
    KEEP_GROUNDS,
    LABEL_TABLES,
    RIGHT_LABELS,
)

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
    # Identity (LEGAL §3.2-3.4, R14-R17)
    "verification_challenge",
    "verification_reminder",
    "identity_not_verified",
    "id_document_request",
    "deadline_update",
    "challenge_unanswered",
    # Deadlines, fees and refusals (R10, R11, R19-R21)
    "extension",
    "fee_notice",
    "refusal",
    # The other rights (LEGAL §4.2-4.6, R25-R31)
    "outcome_rectification",
    "outcome_restriction",
    "restriction_lift_notice",
    "outcome_portability",
    "portability_not_applicable",
    "outcome_objection",
    "objection_decision",
    "outcome_consent_withdrawal",
    # Death and post-mortem directives (LIL 84-85, R37-R40)
    "directive_recorded",
    "directive_revoked",
    "heir_receipt",
    "death_proof_request",
    "death_proof_missing",
    "heir_justification",
    "estate_access",
    "dpo_decision_needed",
    # The retention sweep (R44)
    "dpo_retention_report",
)
# Keys a message type renders without; every other key of its sample context is required.
# Free text from the DPO (explanation, facts, detail) may be a string or a {"fr", "en"} mapping.
OPTIONAL_KEYS: Mapping[str, tuple[str, ...]] = {
    "receipt": ("priority",),
    "outcome_erasure": ("recipients_notified",),
    "outcome_access": ("information",),
}
LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT_TEMPLATE_DIR = template_folder("email")
PARIS = ZoneInfo("Europe/Paris")  # legal days are Paris days (LEGAL §2.1)

# Keys the renderer sets itself; a caller passing them would be silently overridden.
RESERVED_KEYS = ("language", "subject", "as_html")

FORM_KINDS: tuple[str, ...] = ("quote", "contact", "job_application")

_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
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


def _table_label(table: Mapping[str, Mapping[str, str]], what: str):
    def label(key: str, language: str) -> str:
        return _label(table, key, language, what)

    return label


def money(cents: int, language: str) -> str:
    """Euro cents as '1 234,50 €' (no-break spaces) / '€1,234.50'; R20: the amount is stated."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"money expects whole cents (int), got {type(cents).__name__}: {cents!r}")
    if cents < 0:
        raise ValueError(f"an amount cannot be negative: {cents}")
    euros, rest = divmod(cents, 100)
    if language == "fr":
        return f"{euros:,}".replace(",", "\u00a0") + f",{rest:02d}\u00a0€"
    return f"€{euros:,}.{rest:02d}"


def country_label(code: str, language: str) -> str:
    return COUNTRY_LABELS[code][language] if code in COUNTRY_LABELS else code


def decision_command(kind: str, reference: str) -> str:
    """The `dsr case` command with which the DPO records the decision a kind of case awaits."""
    if kind not in DECISION_COMMANDS:
        choices = ", ".join(DECISION_COMMANDS)
        raise ValueError(f"unknown decision kind {kind!r}; expected one of: {choices}")
    return DECISION_COMMANDS[kind].format(reference=reference)


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
            autoescape=select_autoescape(["html.j2"], default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        for name, function in {
            "longdate": longdate,
            "longdatetime": longdatetime,
            "localized": localized,
            "redact_emails": redact_emails,
            "money": money,
            "country_label": country_label,
            **{name: _table_label(table, what) for name, (table, what) in LABEL_TABLES.items()},
        }.items():
            self.env.filters[name] = _in_language(function)
        self.env.filters["decision_command"] = decision_command

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
