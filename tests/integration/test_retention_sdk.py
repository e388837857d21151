"""The retention sweep of a system served by the back-office SDK, on a broker of its own: `dsr retention plan` sees
the SDK system's due people through its paged answer, `dsr retention run` erases them through the SDK (R44)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.register import load_register
from gdpr.ropa import retention_dates
from handlers.memory import MemoryAdapter
from handlers.protocol import Subject
from handlers.sdk import BackOffice, Erased, Lookup, OpenedTask
from streams.web.task_api import system_token
from tests.integration.pipeline import ROOT, Pipeline
from tests.integration.rights_support import wait_until
from tests.integration.test_bad_input_and_shredding import read_topic

pytestmark = pytest.mark.integration

REGISTER = load_register(None)
DUE = 7  # with pages of 3: three pages
LONG_AGO = datetime(2019, 4, 2, 9, 0, tzinfo=UTC)


def seed(store: MemoryAdapter, email: str, at: datetime) -> None:
    """A prospect who asked for a quote on `at` and was never heard of again (as the memory twin's scan dates it)."""
    stamp = at.isoformat()
    store.seed(email, "person", {"email": email, "created_at": stamp, "last_contact_at": stamp})
    store.seed(email, "quote_requests", {"service": "jardinage", "submitted_at": stamp})


def crm_office(store: MemoryAdapter, pipeline: Pipeline) -> BackOffice:
    """The CRM's own team: erase and lookup as any SDK system, and its store's own retention_scan."""
    office = BackOffice(
        "crm",
        bootstrap=pipeline.bootstrap,
        api_url=pipeline.admin_url,
        token=system_token(pipeline.env["DSR_SECRET_KEY"].encode(), "crm"),
        state_dir=pipeline.data_dir / "backoffice",
        backoff=0.2,
        register=REGISTER,
    )

    @office.handles("erase", by_category=True)  # the store erases by category, and its scan reports so (R44)
    def erase(task: OpenedTask) -> Erased:
        report = store.erase(Subject(email=task.email), tuple(task.holds), tuple(task.categories))
        return Erased(erased_items=report.erased_items, kept=list(report.kept))

    @office.handles("lookup")
    def lookup(task: OpenedTask) -> Lookup:
        return Lookup(holds_data=store.lookup(Subject(email=task.email)).holds_data)

    office.handles("retention_scan")(store.retention_scan)
    return office


@pytest.fixture(scope="module")
def sdk_pipeline(tmp_path_factory):
    """A worker whose CRM is served by the SDK (not built in), and "billing", whose consumer never answers."""
    broker = EmbeddedKafka(tmp_path_factory.mktemp("retention-sdk-kafka"), port=free_port()).start()
    running, stop, served = None, threading.Event(), None
    try:
        running = Pipeline(
            broker.bootstrap,
            tmp_path_factory.mktemp("retention-sdk"),
            DSR_SYSTEMS="crm,recruitment,billing",
            DSR_BUILTIN_ADAPTERS="recruitment",
            DSR_RETENTION_CLOCK="false",
            DSR_RETENTION_SCAN_SYSTEMS="crm,billing",
            DSR_RETENTION_SCAN_PAGE="3",
            DSR_RETENTION_SCAN_TIMEOUT="5",
        )
        running.start()
        running.crm = MemoryAdapter("crm")
        served = threading.Thread(target=crm_office(running.crm, running).run, args=(stop,), daemon=True)
        served.start()
        yield running
    finally:
        stop.set()
        if served is not None:
            served.join(10)
        if running is not None:
            running.close()
        broker.stop()


def dsr(pipeline: Pipeline, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dsr.cli", "retention", *args],
        cwd=ROOT,
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_plan_sees_the_sdk_system_s_due_people_and_run_erases_them_through_the_sdk(sdk_pipeline):
    crm = sdk_pipeline.crm
    due = [f"sdk-{uuid.uuid4().hex[:10]}@example.test" for _ in range(DUE)]
    recent = f"sdk-recent-{uuid.uuid4().hex[:8]}@example.test"
    for email in due:
        seed(crm, email, LONG_AGO)
    seed(crm, recent, datetime.now(UTC) - timedelta(days=30))
    ends = retention_dates(REGISTER, "crm", crm.export(Subject(email=due[0])).records)
    as_of = (max(date.fromisoformat(e["until"]) for e in ends if e["until"]) + timedelta(days=1)).isoformat()

    lines = [json.loads(line) for line in dsr(sdk_pipeline, "plan", "--as-of", as_of, "--json").splitlines()]
    person = next(row for row in lines if row.get("system") == "crm" and row.get("category") == "person")
    assert person["count"] == DUE and person["status"] == "scanned"
    assert not any(row.get("system") == "crm" and row.get("status") == "unsupported" for row in lines)
    # "billing" has no consumer: named, unanswered, never an empty scan.
    billing = next(row for row in lines if row.get("system") == "billing")
    assert billing["status"] == "unanswered" and "system 'billing' did not answer" in billing["reason"]
    summary = lines[-1]
    assert summary["people"] == DUE and summary["approval"] == "needed"

    dsr(sdk_pipeline, "approve", summary["plan_id"], "--by", "dpo")
    assert f"plan {summary['plan_id']}: {DUE} people" in dsr(sdk_pipeline, "run", "--as-of", as_of)
    wait_until(
        lambda: not any(crm.lookup(Subject(email=e)).holds_data for e in due), timeout=90, what="erased via the SDK"
    )
    assert crm.lookup(Subject(email=recent)).holds_data  # not yet at its end: kept

    # Two scans (plan, run), each in three pages of at most three people; no address in clear on the topic.
    pages = read_topic(sdk_pipeline.bootstrap, "dsr.retention-scans")
    crm_pages = [json.loads(m.value) for m in pages if json.loads(m.value)["system"] == "crm"]
    assert sorted(p["page"] for p in crm_pages) == [1, 1, 2, 2, 3, 3]
    assert all(len(p["due"]) <= 3 for p in crm_pages)
    assert not any(b"example.test" in m.value for m in pages)
