"""The retention sweep end to end: `dsr retention plan`, `approve` and `run` against a real worker, real Kafka and
the reference CRM on PostgreSQL; a sweep killed halfway resumes and erases everyone exactly once (R44)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.postgres import create_database, drop_database
from dsr.kafka_records import KafkaRecords
from dsr.register import load_register
from gdpr.ropa import retention_dates
from handlers.protocol import Subject
from handlers.reference import CrmAdapter, PostgresStore
from tests.integration.pipeline import ROOT, Pipeline
from tests.integration.postgres_support import pg_count, pg_select
from tests.integration.rights_support import wait_until

pytestmark = pytest.mark.integration

PEOPLE = 12
FIRST_CONTACT = datetime(2021, 5, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pg_pipeline(postgres, tmp_path_factory):
    """The reference systems on PostgreSQL, on a broker of their own, as in conftest's pg_pipeline; the worker's
    daily sweep is off, so that only the commands under test sweep (the clock runs the same `carry_out`,
    tests/unit/test_retention_clock.py)."""
    data_dir = tmp_path_factory.mktemp("retention-pipeline")
    database = f"dsr_retention_{uuid.uuid4().hex[:12]}"
    dsn = create_database(postgres.dsn, database)
    broker = EmbeddedKafka(tmp_path_factory.mktemp("retention-kafka"), port=free_port()).start()
    running = None
    try:
        running = Pipeline(
            broker.bootstrap,
            data_dir,
            DSR_POSTGRES_DSN=dsn,
            DSR_VAULT_DSN=dsn,
            DSR_SYSTEMS="crm,recruitment,newsletter,directives",
            DSR_RETENTION_CLOCK="false",
        )
        running.dsn = dsn
        running.start()
        yield running
    finally:
        if running is not None:
            running.close()
        broker.stop()
        drop_database(postgres.dsn, database)


def dsr(pg_pipeline, *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dsr.cli", "retention", *args],
        cwd=ROOT,
        env={**pg_pipeline.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen, timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-2000:]
    return out


def put_people(pg_pipeline) -> tuple[list[str], date]:
    """Prospects who asked for a quote on the same day, years ago, and were never heard of again."""
    emails = [f"sweep-{uuid.uuid4().hex[:10]}@example.test" for _ in range(PEOPLE)]
    crm = CrmAdapter(PostgresStore(pg_pipeline.dsn, "crm"), clock=lambda: FIRST_CONTACT)
    try:
        for email in emails:
            crm.record_submission(f"old-{email}", "dsr.form.quote_requested", Subject(email=email), {"service": "x"})
        records = crm.export(Subject(email=emails[0])).records
    finally:
        crm.close()
    return emails, max(date.fromisoformat(e["until"]) for e in retention_dates(load_register(None), "crm", records))


def sweep_results(pg_pipeline, request_id: str) -> list[dict]:
    """Every answer on dsr.task-results for the sweep, duplicates included, as a back office would read them."""
    messages = KafkaRecords(pg_pipeline.bootstrap).everything_in("dsr.task-results")
    return [r for m in messages if (r := json.loads(m.value))["subject_request_id"] == request_id]


def batches_done(pg_pipeline, as_of: str) -> int:
    rows = pg_select(pg_pipeline, "SELECT batches_done FROM dsr_retention.sweeps WHERE as_of = %s", as_of)
    return rows[0]["batches_done"] if rows else 0


def test_a_killed_sweep_resumes_and_erases_everyone_exactly_once(pg_pipeline):
    emails, end = put_people(pg_pipeline)
    as_of = (end + timedelta(days=1)).isoformat()
    # On their end date (kept "until" it, says their access answer) the plan has none of them.
    before = finished(dsr(pg_pipeline, "plan", "--as-of", end.isoformat(), "--system", "crm"))
    assert "0 erasure(s)" in before
    # The day after, the DPO reads the plan and approves it: the first plan always waits for them.
    lines = [json.loads(line) for line in finished(dsr(pg_pipeline, "plan", "--as-of", as_of, "--json")).splitlines()]
    summary = lines[-1]
    assert summary["approval"] == "needed" and summary["people"] >= PEOPLE
    person = next(row for row in lines if row.get("category") == "person")
    assert person["count"] >= PEOPLE and person["end_date"] < as_of
    refused = dsr(pg_pipeline, "run", "--as-of", as_of, "--system", "crm")
    assert refused.wait(120) == 3  # not approved yet: nothing published
    assert all(pg_count(pg_pipeline, "crm.people", e) == 1 for e in emails)
    finished(dsr(pg_pipeline, "approve", summary["plan_id"], "--by", "dpo"))
    # The sweep starts, three people a batch, and is killed once two batches are recorded.
    sweep = dsr(pg_pipeline, "run", "--as-of", as_of, DSR_RETENTION_BATCH_SIZE="3", DSR_RETENTION_BATCH_PAUSE="3")
    # With DSR_VAULT_DSN, the day's sweep is recorded where every worker sees it (schema dsr_retention).
    assert not (pg_pipeline.data_dir / "retention" / "sweeps" / f"{as_of}.json").exists()
    wait_until(lambda: batches_done(pg_pipeline, as_of) >= 2, timeout=90, what="two batches")
    sweep.send_signal(signal.SIGKILL)
    sweep.wait(30)
    assert batches_done(pg_pipeline, as_of) < -(-summary["people"] // 3)  # really cut short
    # Run again: it picks up where it stopped and finishes.
    finished(dsr(pg_pipeline, "run", "--as-of", as_of, DSR_RETENTION_BATCH_SIZE="3"))
    wait_until(
        lambda: not any(pg_count(pg_pipeline, "crm.people", e) for e in emails), timeout=120, what="everyone erased"
    )
    # Exactly once: one erase task per person, each answered by a single erasure (a republished task gets the
    # answer recorded the first time, never a second run).
    request_id = f"retention-{summary['plan_id']}"
    wait_until(
        lambda: len({r["task_id"] for r in sweep_results(pg_pipeline, request_id)}) >= summary["people"], timeout=60
    )
    results = sweep_results(pg_pipeline, request_id)
    answers = {(r["task_id"], r["erased_items"], r["completed_at"]) for r in results}
    assert len({r["task_id"] for r in results}) == summary["people"] == len(answers)
    assert all(r["status"] == "done" and r["erased_items"] > 0 for r in results)
    # Every step is in dsr.audit under the sweep's reference, without anyone's address.
    trail = KafkaRecords(pg_pipeline.bootstrap).audit_trail(request_id)
    kinds = [a.kind for a in trail]
    assert kinds.count("retention_batch_published") == -(-summary["people"] // 3)
    assert "retention_sweep_published" in kinds and kinds.count("task_result") >= summary["people"]
    assert not any("@" in a.model_dump_json() for a in trail)
    # The DPO gets the report once.
    report = pg_pipeline.email(pg_pipeline.env["DSR_DPO_EMAIL"], contains=request_id)
    assert "Purge des durées de conservation" in report.subject
    time.sleep(2)
    assert (
        len([m for m in pg_pipeline.emails_to(pg_pipeline.env["DSR_DPO_EMAIL"]) if request_id in (m.text or "")]) == 1
    )


def test_a_customer_s_marketing_consents_go_at_their_end_while_the_customer_file_runs_on(pg_pipeline):
    # R44 per category: an invoice paid keeps the customer file 4 years, the marketing choices 3 (§5 rows 5-6).
    # The day after the 3 years the sweep erases the consents alone; the person and the invoice stay readable.
    contact, email = datetime(2023, 1, 10, 9, 0, tzinfo=UTC), f"customer-{uuid.uuid4().hex[:10]}@example.test"
    crm = CrmAdapter(PostgresStore(pg_pipeline.dsn, "crm"), clock=lambda: contact)
    try:
        crm.record_submission(f"quote-{email}", "dsr.form.quote_requested", Subject(email=email), {"service": "x"})
        crm.add_invoice(email, f"F-{uuid.uuid4().hex[:8]}", 12000, "2023-01-10", paid_at="2023-01-10")
        ends = {
            e["category"]: date.fromisoformat(e["until"])
            for e in retention_dates(load_register(None), "crm", crm.export(Subject(email=email)).records)
        }
    finally:
        crm.close()
    assert ends["consents"] < ends["person"] == ends["invoices"]
    as_of = (ends["consents"] + timedelta(days=1)).isoformat()
    kept = finished(dsr(pg_pipeline, "plan", "--as-of", ends["consents"].isoformat(), "--subject", email, "--json"))
    assert json.loads(kept.splitlines()[-1])["people"] == 0  # kept through the end date
    lines = [
        json.loads(line)
        for line in finished(dsr(pg_pipeline, "plan", "--as-of", as_of, "--system", "crm", "--json")).splitlines()
    ]
    assert [(r["category"], r["count"]) for r in lines if r.get("count")] == [("consents", 1)]
    finished(dsr(pg_pipeline, "approve", lines[-1]["plan_id"], "--by", "dpo"))
    finished(dsr(pg_pipeline, "run", "--as-of", as_of, "--system", "crm"))
    wait_until(lambda: pg_count(pg_pipeline, "crm.consents", email) == 0, timeout=120, what="the consents erased")
    assert pg_count(pg_pipeline, "crm.people", email) == 1 and pg_count(pg_pipeline, "crm.invoices", email) == 1
    [result] = sweep_results(pg_pipeline, f"retention-{lines[-1]['plan_id']}")
    assert result["status"] == "done" and result["erased_items"] > 0 and result["kept"] == []
