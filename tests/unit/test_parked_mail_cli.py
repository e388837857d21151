"""`dsr mail parked` and `dsr mail retry` agree with the console: an e-mail a retry delivered (the sent-e-mail
ledger every worker shares says so) is no longer parked, though the parked topic still holds it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from dsr import cli, parked_mail
from dsr.cli import main
from dsr.composition import sent_ledger
from dsr.settings import load_settings
from handlers.kafka_security import KafkaSecurity
from mail.parked import Parked
from schemas.notifications import EmailRequested, MessageType, Recipient

pytestmark = pytest.mark.unit

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
DELIVERED, STILL_REFUSED = "DSR-0A0A0A0A0A", "DSR-0B0B0B0B0B"


def parked(reference: str) -> Parked:
    request = EmailRequested(
        message_id=f"<{reference}.receipt@dsr.test>", request_id=f"id-{reference}", message_type=MessageType.RECEIPT,
        language="fr", recipient=Recipient.SUBJECT, context={"case_reference": reference}, requested_at=NOW,
    )  # fmt: skip
    return Parked(request, "550 no such user", NOW.isoformat())


@pytest.fixture
def topic(tmp_path, monkeypatch) -> list[Parked]:
    """The operator's shell beside the workers (their data dir, so their ledger); the parked topic as Kafka holds
    it: the receipt of DELIVERED was parked, then retried and sent."""
    for name in [n for n in os.environ if n.startswith("DSR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DSR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DSR_SECRET_KEY", "s" * 40)
    held = [parked(DELIVERED), parked(STILL_REFUSED)]
    monkeypatch.setattr(parked_mail, "parked_emails", lambda bootstrap, security=None: list(held))
    monkeypatch.setattr(cli, "checked_kafka", lambda bootstrap: KafkaSecurity())
    ledger = sent_ledger(load_settings())
    ledger.claim(held[0].request.message_id, held[0].request.request_id, NOW)
    ledger.mark_sent(held[0].request.message_id, NOW)
    ledger.close()
    return held


def test_the_parked_list_leaves_out_an_email_its_retry_delivered(topic):
    result = CliRunner().invoke(main, ["mail", "parked"])
    assert result.exit_code == 0, result.output
    assert STILL_REFUSED in result.output and DELIVERED not in result.output
    assert "1 parked e-mail(s)" in result.output


def test_a_retry_of_a_delivered_email_sends_nothing_and_says_so(topic):
    # Nothing is requeued, so no broker is even asked (none runs here).
    result = CliRunner().invoke(main, ["mail", "retry", DELIVERED])
    assert result.exit_code == 1 and f"no parked e-mail for '{DELIVERED}'" in result.output
