"""The mail relay down for minutes, on a real SMTP server and real Kafka: the e-mails wait with capped backoff
(compressed here by DSR_SMTP_BACKOFF and DSR_SMTP_MAX_BACKOFF), all arrive once it is back, each once, none
parked, and an address the relay keeps refusing holds up no other."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.smtp_sink import SmtpSink
from dsr.parked_mail import parked_emails
from tests.integration.pipeline import DPO_EMAIL, Pipeline, new_person, rights_request

OUTAGE_SECONDS = 180
PEOPLE = 5


@pytest.fixture(scope="module")
def relayed(tmp_path_factory):
    """A worker of its own (the topic names are fixed), retrying from 1 s doubling up to 8 s, for one hour."""
    broker = EmbeddedKafka(tmp_path_factory.mktemp("outage-kafka"), port=free_port()).start()
    running = Pipeline(
        broker.bootstrap,
        tmp_path_factory.mktemp("outage"),
        DSR_SMTP_BACKOFF="1",
        DSR_SMTP_MAX_BACKOFF="8",
        DSR_MAIL_RETRY_HOURS="1",
        DSR_SMTP_TIMEOUT="5",
        DSR_SYSTEMS="crm,recruitment,newsletter,directives",
    )
    try:
        running.start()
        yield running
    finally:
        running.close()
        broker.stop()


def deferred_attempts(pipeline: Pipeline) -> float:
    with urllib.request.urlopen(pipeline.admin_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(v) for v in re.findall(r"^dsr_emails_deferred_total\{[^}]*\} (\S+)$", text, re.MULTILINE))


def arrived(pipeline: Pipeline, email: str) -> list:
    return pipeline.emails_to(email)


def wait_for_count(pipeline: Pipeline, email: str, count: int, timeout: float) -> float:
    """Seconds until `email` has received `count` e-mails."""
    started = time.monotonic()
    while len(arrived(pipeline, email)) < count:
        assert time.monotonic() - started < timeout, f"{len(arrived(pipeline, email))} of {count} e-mails"
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_relay_down_for_minutes_needs_no_human(relayed):
    port = relayed.sink.port
    relayed.sink.stop()  # the relay is down: connections refused
    down_at = time.monotonic()
    people = [new_person() for _ in range(PEOPLE)]
    for email, name in people:
        relayed.publish(rights_request(email, name))  # each: a receipt and a confirmation link
    time.sleep(OUTAGE_SECONDS)
    attempts = deferred_attempts(relayed)
    assert attempts >= PEOPLE * 2 * 10  # every e-mail retried again and again during the outage
    assert not relayed.mailbox.all()

    greylisted, name = new_person()
    relayed.sink = SmtpSink(relayed.mailbox, port=port).start()  # back, same address
    relayed.sink.fail_for(greylisted, 10_000, 451)  # this one address is still refused ("try later")
    back_at = time.monotonic()
    relayed.publish(rights_request(greylisted, name))
    recovery = max(wait_for_count(relayed, email, 2, timeout=60) for email, _ in people)
    print(f"\nrelay down {back_at - down_at:.0f} s, {attempts:.0f} deferred attempts; all e-mails in {recovery:.1f} s")

    latecomer, name = new_person()  # while the greylisted address keeps failing, others go through at once
    relayed.publish(rights_request(latecomer, name))
    print(f"a new request's e-mails in {wait_for_count(relayed, latecomer, 2, timeout=30):.1f} s")
    assert arrived(relayed, greylisted) == []

    relayed.sink.accept_all()
    wait_for_count(relayed, greylisted, 2, timeout=60)
    time.sleep(5)  # any duplicate would have come by now
    for email, _ in [*people, (greylisted, ""), (latecomer, "")]:
        texts = [m.text or "" for m in arrived(relayed, email)]
        assert len(texts) == 2 and sum("/verify/" in t for t in texts) == 1  # each e-mail exactly once
    assert [m for m in relayed.mailbox.all() if DPO_EMAIL in m.rcpt_tos] == []  # no parking notice
    assert parked_emails(relayed.bootstrap) == []
