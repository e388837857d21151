"""R51 on real Kafka: a case closed longer ago than DSR_CASE_RETENTION_DAYS leaves only tombstones behind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer

from dsr.devstack.kafka import EmbeddedKafka, free_port
from gdpr.lifecycle import stable_id
from schemas.cases import EmailSent
from streams.app import APP_ID
from tests.integration.pipeline import Pipeline, new_person, rights_request
from tests.integration.rights_support import audit_records, case_record, dpo, message, new_case, wait_until

pytestmark = pytest.mark.integration

CASES_CHANGELOG = f"{APP_ID}-cases-changelog"
SENT_CHANGELOG = f"{APP_ID}-sent-emails-changelog"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    # A broker of its own: on the session's broker the session pipeline's worker is in the same consumer group and
    # would take some of the partitions (and send these cases' e-mails to its own mailbox).
    with EmbeddedKafka(tmp_path_factory.mktemp("retention-kafka"), port=free_port()) as broker:
        running = Pipeline(broker.bootstrap, tmp_path_factory.mktemp("retention"))  # DSR_CASE_RETENTION_DAYS: 1826
        try:
            yield running.start()
        finally:
            running.close()


def awaiting_confirmation(pipeline) -> tuple[str, str]:
    """A person asks for a copy of their data: the case waits for them to confirm (reference, request id)."""
    email, name = new_person()
    event = rights_request(email, name, right="access")
    pipeline.publish(event)
    reference = new_case(pipeline, email)
    message(pipeline, email, reference, contains="/verify/")
    return reference, stable_id("request", event["id"])


def closed_days_ago(pipeline, request_id: str, days: int) -> None:
    """The case's closing e-mail as the mailer records it, dated `days` back: the case closed then. Waiting
    five years being out of reach, the record's own date is what moves (the worker's clock is the real one)."""
    sent_at = datetime.now(UTC) - timedelta(days=days)
    closing = EmailSent(
        request_id=request_id,
        message_type="identity_not_verified",
        message_id=stable_id(request_id, "closing"),
        sent_at=sent_at,
    )
    pipeline.producer.send("dsr.cases", key=request_id.encode(), value=closing.to_bytes()).get(timeout=30)


def latest_values(bootstrap: str, topic: str) -> dict[str, bytes | None]:
    """What a compacted topic keeps per key: the last value, None for a tombstone (faust writes keys as JSON)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return {json.loads(m.key): m.value for m in consumer}
    finally:
        consumer.close()


def test_a_case_closed_longer_ago_than_the_retention_is_purged_and_a_younger_one_is_kept(pipeline):
    old_ref, old_id = awaiting_confirmation(pipeline)
    young_ref, young_id = awaiting_confirmation(pipeline)
    # Both cases closed without confirmation: one 1827 days ago, one 30 days ago.
    closed_days_ago(pipeline, old_id, 1827)
    closed_days_ago(pipeline, young_id, 30)
    # The DPO asks for the old one: a clear 404 that says why it may be gone.
    shown = wait_until(lambda: (done := dpo(pipeline, "show", old_ref)).returncode != 0 and done, 60, "old case gone")
    assert "404" in shown.stderr and "purged 1826 days after it closed" in shown.stderr
    assert wait_until(lambda: case_record(pipeline, young_ref)["status"] == "closed", 60, "young case closed")
    # Kafka is the record: the changelog's latest value for the old case is a tombstone, compaction drops it.
    cases = wait_until(lambda: (v := latest_values(pipeline.bootstrap, CASES_CHANGELOG)).get(old_id, b"") is None and v)
    assert cases[young_id] is not None
    # The mailer's record of what the old case was sent went with it; the young one's stays.
    sent = wait_until(lambda: (v := latest_values(pipeline.bootstrap, SENT_CHANGELOG)).get(old_id, b"") is None and v)
    assert sent[young_id] is not None and len(json.loads(sent[young_id])) >= 2  # receipt and verification
    # The audit says it went, and nothing about the person.
    (purged,) = [r for r in audit_records(pipeline, old_id) if r["kind"] == "case_purged"]
    assert purged["detail"]["retention_days"] == 1826 and "subject_ref" not in purged
    assert not [r for r in audit_records(pipeline, young_id) if r["kind"] == "case_purged"]
    # A restarted worker rebuilds its table from the changelog: the purged case does not come back.
    pipeline.stop()
    pipeline.start()
    assert case_record(pipeline, young_ref)["status"] == "closed"
    assert "404" in dpo(pipeline, "show", old_ref).stderr


@pytest.fixture
def own_broker(tmp_path):
    """A broker of its own: the module's worker, in the same consumer group, would take this test's requests."""
    with EmbeddedKafka(tmp_path / "kafka", port=free_port()) as broker:
        yield broker


def test_a_restarted_worker_rebuilds_the_clocks_agenda_from_the_changelog(own_broker, tmp_path):
    # A system that never answers, and a task timeout that ends only after the worker was restarted.
    timeout = timedelta(hours=0.05)  # 180 s
    pipeline = Pipeline(
        own_broker.bootstrap,
        tmp_path,
        DSR_SYSTEMS="crm,recruitment,newsletter,directives,silent",
        DSR_BUILTIN_ADAPTERS="crm,recruitment,newsletter,directives",
        DSR_TASK_TIMEOUT_HOURS=str(timeout.total_seconds() / 3600),
    )
    try:
        pipeline.start()
        email, name = new_person()
        event = rights_request(email, name, right="access")
        published_at = datetime.now(UTC)  # the lookup tasks are issued after this
        pipeline.publish(event)
        request_id = stable_id("request", event["id"])
        reference = new_case(pipeline, email)
        # Once the other systems have answered, nothing writes to the case until the clock flags the silent one.
        wait_until(lambda: settled(pipeline, reference), 120, "the other systems' answers")
        pipeline.stop()
        pipeline.start()
        assert datetime.now(UTC) < published_at + timeout, "restarted too slowly: the timeout may have passed before"
        assert not overdue(pipeline, request_id)
        # The case came back from the changelog, and the clock still looks at it: the overdue task is flagged.
        assert wait_until(lambda: overdue(pipeline, request_id), 300, "the silent system's task flagged")
    finally:
        pipeline.close()


def settled(pipeline, reference: str) -> bool:
    record = case_record(pipeline, reference)["record"]
    answered = [t for t in record["tasks"].values() if t["status"] is not None]
    return len(answered) == 4 and bool(record["emails_sent"])


def overdue(pipeline, request_id: str) -> list[dict]:
    return [r for r in audit_records(pipeline, request_id) if r["kind"] == "task_overdue"]
