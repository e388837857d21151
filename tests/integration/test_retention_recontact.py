"""The prospect's one re-contact end to end (CNIL-COM, LEGAL §5 row 5), on real Kafka, SMTP and PostgreSQL: ten days
before their 3-year end two prospects get the e-mail once; one says yes on the page and is kept past the old end,
the other stays silent and is erased after it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.postgres import create_database, drop_database
from dsr.kafka_records import KafkaRecords
from dsr.register import load_register
from gdpr.deadlines import PARIS
from gdpr.ropa import retention_dates
from handlers.protocol import Subject
from handlers.reference import CrmAdapter, PostgresStore
from tests.integration.browser import assert_accessible, new_page, start_browser
from tests.integration.pipeline import ROOT, Pipeline, link
from tests.integration.postgres_support import pg_count, pg_select
from tests.integration.rights_support import wait_until

pytestmark = pytest.mark.integration

AHEAD = 10  # days before their end when they are asked


@pytest.fixture(scope="module")
def pg_pipeline(postgres, tmp_path_factory):
    """The CRM on PostgreSQL, on a broker of its own; re-contact 30 days ahead; the daily clock off (the commands
    under test run the same `carry_out`)."""
    database = f"dsr_recontact_{uuid.uuid4().hex[:12]}"
    dsn = create_database(postgres.dsn, database)
    broker = EmbeddedKafka(tmp_path_factory.mktemp("recontact-kafka"), port=free_port()).start()
    running = None
    try:
        running = Pipeline(
            broker.bootstrap,
            tmp_path_factory.mktemp("recontact-pipeline"),
            DSR_POSTGRES_DSN=dsn,
            DSR_VAULT_DSN=dsn,
            DSR_SYSTEMS="crm",
            DSR_RETENTION_CLOCK="false",
            DSR_RETENTION_RECONTACT_DAYS="30",
        )
        running.dsn = dsn
        running.start()
        yield running
    finally:
        if running is not None:
            running.close()
        broker.stop()
        drop_database(postgres.dsn, database)


@pytest.fixture(scope="module")
def browser():
    playwright, chromium = start_browser()
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


def retention(pg_pipeline, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dsr.cli", "retention", *args],
        cwd=ROOT,
        env=pg_pipeline.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def put_prospects(pg_pipeline, today: date) -> tuple[str, str, date]:
    """Two prospects who asked for a quote 3 years ago less ten days, and were never heard of since."""
    created = datetime.combine(today + timedelta(days=AHEAD), datetime.min.time().replace(hour=10), tzinfo=PARIS)
    created = created.replace(year=created.year - 3)
    yes, silent = (f"{who}-{uuid.uuid4().hex[:8]}@example.test" for who in ("yes", "silent"))
    crm = CrmAdapter(PostgresStore(pg_pipeline.dsn, "crm"), clock=lambda: created)
    try:
        for email in (yes, silent):
            crm.record_submission(f"quote-{email}", "dsr.form.quote_requested", Subject(email=email), {"service": "x"})
        records = crm.export(Subject(email=yes)).records
    finally:
        crm.close()
    end = max(date.fromisoformat(e["until"]) for e in retention_dates(load_register(None), "crm", records))
    return yes, silent, end


def test_a_yes_keeps_the_prospect_past_the_old_end_and_silence_lets_the_erasure_run(pg_pipeline, browser):
    today = datetime.now(PARIS).date()
    yes, silent, end = put_prospects(pg_pipeline, today)
    assert end == today + timedelta(days=AHEAD)
    # The plan tells the DPO who would be asked; the run asks them, one e-mail each.
    planned = [json.loads(line) for line in retention(pg_pipeline, "plan", "--system", "crm", "--json").splitlines()]
    assert {"status": "recontact", "count": 2, "days": 30, "as_of": today.isoformat()} in planned
    assert "asked 2 prospect(s)" in retention(pg_pipeline, "run", "--system", "crm")
    asked = {email: pg_pipeline.email(email, contains="/keep/") for email in (yes, silent)}
    assert "Souhaitez-vous continuer" in asked[yes].subject
    # Asked once: a second run (tomorrow's clock, or a DPO re-running it) sends nobody anything.
    assert "asked 0 prospect(s)" in retention(pg_pipeline, "run", "--system", "crm")
    # The first opens the page in a browser (the GET records nothing; the page passes axe-core's WCAG 2.1 AA check)
    # and says yes, with JavaScript off: the page is a plain form.
    say_yes(browser, link(asked[yes], "keep"))
    wait_until(lambda: kept_informed(pg_pipeline, yes) == 1, timeout=60, what="the yes recorded by the CRM")
    assert kept_informed(pg_pipeline, silent) == 0
    # The day after the old end: the plan erases the silent one only; carried out, the yes is kept.
    after = (end + timedelta(days=1)).isoformat()
    lines = [json.loads(line) for line in retention(pg_pipeline, "plan", "--as-of", after, "--json").splitlines()]
    summary = lines[-1]
    assert summary["people"] == 1
    retention(pg_pipeline, "approve", summary["plan_id"], "--by", "dpo")
    retention(pg_pipeline, "run", "--as-of", after)
    wait_until(lambda: pg_count(pg_pipeline, "crm.people", silent) == 0, timeout=90, what="the silent one erased")
    assert pg_count(pg_pipeline, "crm.people", yes) == 1
    # Every step is in dsr.audit under the day's reference, without anyone's address.
    trail = KafkaRecords(pg_pipeline.bootstrap).audit_trail(f"recontact-{today.isoformat()}")
    kinds = [a.kind for a in trail]
    assert {"retention_recontact_sent", "retention_recontact_kept", "task_result"} <= set(kinds)
    assert not any("@" in a.model_dump_json() for a in trail)
    time.sleep(2)
    assert [len([m for m in pg_pipeline.emails_to(e) if "/keep/" in (m.text or "")]) for e in (yes, silent)] == [1, 1]


def say_yes(browser, url: str) -> None:
    looking = new_page(browser)
    looking.goto(url)
    expect(looking.get_by_role("heading", level=1)).to_have_text(
        "Souhaitez-vous continuer à avoir de nos nouvelles\u00a0?"
    )
    assert_accessible(looking)
    looking.context.close()
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Oui, je souhaite rester informé(e)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("C'est noté, merci")
    context.close()


def kept_informed(pg_pipeline, email: str) -> int:
    query = "SELECT count(*) AS n FROM crm.contact_events WHERE email = %s AND kind = 'keep_informed'"
    return pg_select(pg_pipeline, query, email)[0]["n"]
