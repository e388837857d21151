"""Every answer true in law and in fact (issue 10): what each e-mail says matches the case it is sent for."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.decisions import Extend
from schemas.intake import Right
from streams.email_labels import MESSAGE_LABELS
from streams.email_templates import MESSAGE_TYPES
from tests.unit.messages import T0, context, discovered, email, opened

pytestmark = pytest.mark.unit

# A code as the pipeline stores it (`awaiting_verification`, `legal_obligation`): never shown to a reader.
RAW_CODE = re.compile(r"(?<![\w./@=-])[a-z]+(?:_[a-z0-9]+)+(?![\w./@-])")
COMMAND = re.compile(r"dsr (?:case|mail) [^\n<]*")


def flat(text: str) -> str:
    """The text with its line breaks and no-break spaces undone, so a phrase is found wherever it wraps."""
    return re.sub(r"[ \n\u00a0]+", " ", text)


def raw_codes(text: str) -> list[str]:
    """Codes in the prose; the `dsr case` commands shown to the DPO are the CLI's own words."""
    return RAW_CODE.findall(COMMAND.sub("", text))


# --- small words ----------------------------------------------------------------------------------


def test_the_dpo_reminder_names_the_status_in_words():
    # "Statut actuel : in_progress" showed a raw code: every status has a label in both languages.
    ctx = context()
    reminder = email(ctx, opened(ctx, Right.ACCESS), "dpo_deadline_reminder", T0 + timedelta(days=25), days=10)
    assert "discovering" not in reminder.text and not raw_codes(reminder.text)
    assert "recherche des systèmes qui détiennent des données" in reminder.text


def test_every_message_type_has_a_name_for_the_parked_mail_alert():
    assert set(MESSAGE_TYPES) - {t for t in MESSAGE_TYPES if t.startswith("dpo_")} <= set(MESSAGE_LABELS)


def test_the_dpo_task_alerts_name_the_system_and_the_action_in_words():
    ctx = context()
    state = discovered(ctx, opened(ctx, Right.ERASURE), {"crm": {}})
    detail = {"task_id": "t", "system": "crm", "action": "erase", "error": "OperationalError"}
    failed = email(ctx, state, "dpo_task_failed", **detail)
    assert "effacement" in failed.subject and "(CRM)" in failed.subject
    assert not raw_codes(failed.text) and "<code>" not in failed.html


# --- 1. Art. 12(4) after an extension ------------------------------------------------------------


def test_the_reminder_of_an_extended_case_names_d1_for_refusals():
    ctx = context()
    state = opened(ctx, Right.ERASURE)
    state = state.model_copy(
        update={"extension": Extend(by="dpo", at=T0, reasons=["volume_of_data"]), "deadline": date(2027, 6, 7)}
    )
    reminder = email(ctx, state, "dpo_deadline_reminder", datetime(2027, 5, 28, 9, tzinfo=UTC), days=10)
    text = flat(reminder.text)
    assert "7 juin 2027" in text and "ou un avis de frais ne peut être notifié que jusqu'au 5 avril 2027" in text
    assert "Une prolongation de deux mois n'est possible" not in text  # already extended: none left


def test_the_alert_before_d1_says_the_partial_refusal_cannot_wait_for_the_extended_deadline():
    ctx = context()
    state = opened(ctx, Right.ERASURE).model_copy(
        update={"extension": Extend(by="dpo", at=T0, reasons=["volume_of_data"]), "deadline": date(2027, 6, 7)}
    )
    alert = email(ctx, state, "dpo_decision_needed", kind="partial_refusal_due")
    text = flat(alert.text)
    assert "Le refus partiel doit partir au plus tard le 5 avril 2027" in text
    assert "dsr case refuse" in text and "--partial" in text
