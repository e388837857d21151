"""The sweep's shell: `dsr retention plan|approve|run` on reference systems under a data dir, and the clock's gate:
nothing before a first approved plan, then each day's plan unless it is over the limit (R44)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from dsr.cli import main
from dsr.composition import case_holds
from dsr.retention_cli import Shell, carry_out
from dsr.retention_clock import DailySweep
from dsr.settings import Settings
from gdpr.sealing import subject_ref
from handlers.protocol import Subject
from handlers.reference import CrmAdapter, NewsletterAdapter
from schemas.tasks import KeepGround, LegalHold

pytestmark = pytest.mark.unit

SECRET = "retention-clock-test-secret-0123456789abcdef"
LONG_AGO = datetime(2020, 1, 6, 10, 0, tzinfo=UTC)
LATER = date(2030, 1, 1)


class Sink:
    def __init__(self):
        self.tasks, self.closed = [], False

    def task(self, task):
        self.tasks.append(task)

    def audit(self, record):
        pass

    def notify(self, request):
        pass

    def flush(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = {"DSR_DATA_DIR": str(tmp_path), "DSR_SECRET_KEY": SECRET, "DSR_SYSTEMS": "crm,billing"}
    values |= {"DSR_BUILTIN_ADAPTERS": "crm", "DSR_RETENTION_APPROVAL_LIMIT": "2"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def on_file(data_dir, *emails: str) -> None:
    (data_dir / "systems").mkdir(exist_ok=True)
    crm = CrmAdapter(data_dir / "systems" / "crm.sqlite3", clock=lambda: LONG_AGO)
    for email in emails:
        crm.record_submission(f"q-{email}", "dsr.form.quote_requested", Subject(email=email), {"service": "x"})
    crm.close()


def plan_lines(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["retention", "plan", "--as-of", LATER.isoformat(), "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_plan_json_one_object_a_line_with_the_system_that_cannot_scan(env):
    on_file(env, "a@example.test", "b@example.test")
    lines = plan_lines()
    person = next(line for line in lines if line.get("category") == "person")
    assert {"system", "category", "rule", "end_date", "count"} <= set(person) and person["count"] == 2
    assert {"system": "billing", "status": "unsupported"}.items() <= next(
        line for line in lines if line["system"] == "billing"
    ).items()
    assert lines[-1]["approval"] == "needed"
    assert "example.test" not in json.dumps(lines)  # no one's address in the plan


def test_the_register_s_systems_without_an_adapter_are_listed_with_their_rules(env):
    # R44: DSR_SYSTEMS names crm and billing; the register's website (cookies, audience data, connection logs) and
    # the pipeline's own case records have no adapter: the plan shows their rules rather than leaving them out.
    lines = plan_lines()
    website = {line["rule"]: line for line in lines if line.get("system") == "website"}
    assert set(website) == {"cookies_13m", "analytics_25m", "connection_logs_1y"}
    assert all(line["status"] == "unsupported" and "DSR_SYSTEMS" in line["reason"] for line in website.values())
    (cases,) = [line for line in lines if line.get("system") == "dsr"]
    assert cases["rule"] == "rights_case_5y" and "DSR_CASE_RETENTION_DAYS" in cases["reason"]
    text = CliRunner().invoke(main, ["retention", "plan", "--as-of", LATER.isoformat()]).output
    assert "website: unsupported, not swept: in the register but not in DSR_SYSTEMS" in text
    assert "connection_logs (connection_logs_1y, delete)" in text
    # Asked for one system, the plan lists that one only.
    assert {line.get("system") for line in plan_lines("--system", "crm")} <= {"crm", None}


def test_plan_for_one_subject(env):
    on_file(env, "a@example.test", "b@example.test")
    lines = plan_lines("--subject", "A@example.test")
    assert next(line for line in lines if line.get("category") == "person")["count"] == 1


def test_the_clock_waits_for_a_first_approval_then_sweeps_plans_within_the_limit(env):
    on_file(env, "a@example.test")
    settings = Settings()
    assert DailySweep(settings, SECRET.encode()).sweep(LATER) == "waiting for a first approved plan"
    first = plan_lines()[-1]["plan_id"]
    assert CliRunner().invoke(main, ["retention", "approve", first, "--by", "dpo"]).exit_code == 0
    # The approved plan runs; the day after, a small plan runs without asking.
    shell, sink = Shell.load(settings), Sink()
    assert carry_out(shell, LATER, (), lambda: sink).published == 1 and sink.closed
    on_file(env, "b@example.test")
    sink = Sink()
    outcome = carry_out(shell, date(2030, 1, 2), (), lambda: sink)
    assert outcome.published == 1 and len(sink.tasks) == 2  # a and b: a's erasure is the runtime's, not here


def test_a_run_for_some_systems_leaves_the_day_s_sweep_to_the_clock(env):
    # The DPO sweeps the CRM by hand (`dsr retention run --system crm`) before the clock's tick of the same day: the
    # clock's sweep of every system still runs that day, not taken for done.
    on_file(env, "a@example.test")
    shell = Shell.load(Settings())
    shell.store.approve(plan_lines()[-1]["plan_id"], "dpo", LONG_AGO)
    by_hand, clock = Sink(), Sink()
    assert carry_out(shell, LATER, ("crm",), lambda: by_hand).published == 1 and len(by_hand.tasks) == 1
    assert shell.store.unfinished(LATER) is None
    assert carry_out(shell, LATER, (), lambda: clock).published == 1 and len(clock.tasks) == 1
    assert carry_out(shell, LATER, (), Sink).published == 0  # the day's sweep is done: a second tick publishes none


def test_the_clock_expires_leased_keys_hourly_even_before_a_first_approval(env, monkeypatch):
    # A form submission's key (or a sweep task's) whose lease ended goes on the clock's next hour, approved plan or
    # not: a deployment that never sweeps still lets prospects' keys go. Recorded in dsr.audit as key_destroyed.
    from dsr.composition import key_vault
    from gdpr.sealing import Lease

    sink = Sink()
    sink.audits = []
    sink.audit = sink.audits.append
    monkeypatch.setattr("dsr.retention_kafka.KafkaSweepSink", lambda *args: sink)
    settings = Settings()
    vault = key_vault(settings, SECRET.encode())
    vault.key_for("ref-gone", Lease("submission:old", datetime(2020, 1, 1, tzinfo=UTC)))
    vault.key_for("ref-case")  # a case's key: never leased, never expired
    clock = DailySweep(settings, SECRET.encode())
    assert clock.sweep(LATER) == "waiting for a first approved plan"
    assert vault.get("ref-gone") is None and vault.get("ref-case") is not None
    assert [(a.kind, a.subject_ref) for a in sink.audits] == [("key_destroyed", "ref-gone")]
    vault.key_for("ref-later", Lease("submission:later", datetime(2020, 1, 1, tzinfo=UTC)))
    clock.sweep(LATER)  # the next tick, within the hour: no second look
    assert vault.get("ref-later") is not None


def test_a_plan_over_the_limit_waits_for_its_own_approval(env):
    on_file(env, "a@example.test")
    settings = Settings()
    shell = Shell.load(settings)
    shell.store.approve("an-earlier-plan", "dpo", LONG_AGO)
    on_file(env, "b@example.test", "c@example.test")
    outcome = carry_out(shell, LATER, (), Sink)
    assert outcome.published is None and outcome.plan.size == 3
    result = CliRunner().invoke(main, ["retention", "run", "--as-of", LATER.isoformat()])
    assert result.exit_code == 3 and f"dsr retention approve {outcome.plan.plan_id}" in result.output


def test_a_hold_placed_on_a_case_keeps_the_person_out_of_the_plan_until_released(env):
    # R46: the DPO held a's data on a case (a dispute); the sweep reads the holds every worker shares.
    on_file(env, "a@example.test", "b@example.test")
    held = LegalHold(hold_id="dispute", categories=["*"], ground=KeepGround.LEGAL_CLAIMS, owner="legal",
                     review_on=date(2031, 1, 1))  # fmt: skip
    store = case_holds(Settings())
    store.put("case-1", subject_ref(SECRET.encode(), "a@example.test"), [held])
    lines = plan_lines()
    person = next(line for line in lines if line.get("category") == "person")
    assert person["held"] == 1 and lines[-1]["people"] == 1  # a is listed as held, only b is to be erased
    store.put("case-1", subject_ref(SECRET.encode(), "a@example.test"), [])  # released
    lines = plan_lines()
    assert next(line for line in lines if line.get("category") == "person")["held"] == 0 and lines[-1]["people"] == 2


def test_run_has_the_newsletter_purge_its_fingerprints_past_their_end(env, monkeypatch):
    # R45: a fingerprint kept three years from the objection (suppression_3y); past that, `dsr retention run` has the
    # newsletter delete it, with no one to erase (the fingerprint names no address).
    for key in ("DSR_SYSTEMS", "DSR_BUILTIN_ADAPTERS"):
        monkeypatch.setenv(key, "newsletter")
    (env / "systems").mkdir(exist_ok=True)
    where = env / "systems" / "newsletter.sqlite3"
    newsletter = NewsletterAdapter(where, secret=SECRET.encode(), clock=lambda: LONG_AGO)
    newsletter.suppress_marketing(Subject(email="a@example.test"), ("email",), source="objection")
    newsletter.close()
    outcome = carry_out(Shell.load(Settings()), LATER, (), Sink)
    assert [(p.rule, p.count) for p in outcome.plan.purges] == [("suppression_3y", 1)] and outcome.published == 0
    assert not NewsletterAdapter(where, secret=SECRET.encode()).is_suppressed("a@example.test")


def test_plan_shows_the_archived_invoices_past_their_end_and_run_purges_them(env):
    # L123-22: an invoice of May 2019, moved to the restricted archive when its customer asked for erasure, is kept
    # through 31 December 2029 (10 years from the close of its financial year); `dsr retention plan` shows it due on
    # 1 January 2030 with no one to ask for, and `dsr retention run` has the CRM purge it.
    (env / "systems").mkdir(exist_ok=True)
    where, customer = env / "systems" / "crm.sqlite3", Subject(email="a@example.test")
    crm = CrmAdapter(where, clock=lambda: LONG_AGO)
    crm.add_invoice(customer.email, "F-2019-3", 9900, "2019-05-01", paid_at="2019-05-20")
    crm.erase(customer)
    crm.close()
    line = next(line for line in plan_lines() if line.get("category") == "archived_invoices")
    assert (line["rule"], line["count"], line["records"], line["end_date"]) == ("accounting_10y", 0, 1, "2029-12-31")
    text = CliRunner().invoke(main, ["retention", "plan", "--as-of", LATER.isoformat()]).output
    assert "crm / archived_invoices (accounting_10y, delete): 1 records" in text and "purged by the system" in text
    outcome = carry_out(Shell.load(Settings()), LATER, (), Sink)
    assert [(p.rule, p.count) for p in outcome.plan.purges] == [("accounting_10y", 1)] and outcome.published == 0
    assert CrmAdapter(where).export(customer).records == {}


def test_the_clock_refuses_to_sweep_for_a_group_whose_workers_keep_their_state_apart(tmp_path, caplog):
    # Two workers on two machines, each with its own DSR_DATA_DIR and no DSR_VAULT_DSN: the next leader would not
    # see this one's approval, its sweep cut short or who was asked. The leader refuses, naming the setting.
    base = {"secret_key": SECRET, "kafka_bootstrap": "kafka:9092"}
    a = Settings(data_dir=tmp_path / "a", admin_advertised_url="http://host-a:8081", **base)
    b = Settings(data_dir=tmp_path / "b", admin_advertised_url="http://host-b:8081", **base)
    leader, _ = DailySweep(a, SECRET.encode()), DailySweep(b, SECRET.encode())
    group = ["http://host-a:8081", "http://host-b:8081"]
    assert leader.apart(group) == ["http://host-b:8081"]
    assert leader.sweep(LATER, group).startswith("refused") and "DSR_VAULT_DSN" in caplog.text
    # Alone, or the workers of `dsr dev --workers N` (one data dir): the sweep goes on to its approval gate.
    assert leader.sweep(LATER, group[:1]) == "waiting for a first approved plan"
    shared = b.model_copy(update={"data_dir": tmp_path / "a"})
    DailySweep(shared, SECRET.encode())
    assert leader.sweep(LATER, group) == "waiting for a first approved plan"


def test_a_legal_hold_keeps_an_archived_invoice_past_its_end_and_the_plan_counts_it(env):
    # R46: a's and b's invoices of May 2019 moved to the restricted archive and end on 31 December 2029. The DPO holds
    # a's CRM data on a case (a dispute about a's invoice): `dsr retention plan` shows one of the two archived invoices
    # held, and `dsr retention run` has the CRM purge b's only; a's goes once the hold is released.
    (env / "systems").mkdir(exist_ok=True)
    where, held, free = (
        env / "systems" / "crm.sqlite3",
        Subject(email="a@example.test"),
        Subject(email="b@example.test"),
    )
    crm = CrmAdapter(where, clock=lambda: LONG_AGO)
    for number, customer in (("F-2019-3", held), ("F-2019-4", free)):
        crm.add_invoice(customer.email, number, 9900, "2019-05-01", paid_at="2019-05-20")
        crm.erase(customer)
    crm.close()
    hold = LegalHold(hold_id="dispute", categories=["*"], ground=KeepGround.LEGAL_CLAIMS, owner="legal",
                     review_on=date(2031, 1, 1))  # fmt: skip
    store = case_holds(Settings())
    store.put("case-1", subject_ref(SECRET.encode(), held.email), [hold])
    line = next(line for line in plan_lines() if line.get("category") == "archived_invoices")
    assert (line["records"], line["held"]) == (2, 1)
    text = CliRunner().invoke(main, ["retention", "plan", "--as-of", LATER.isoformat()]).output
    assert "purged by the system, but 1 kept by a legal hold" in text
    carry_out(Shell.load(Settings()), LATER, (), Sink)
    assert "archived_invoices" in CrmAdapter(where).export(held).records
    assert CrmAdapter(where).export(free).records == {}
    store.put("case-1", subject_ref(SECRET.encode(), held.email), [])  # released: the next run purges it (R46)
    carry_out(Shell.load(Settings()), LATER, (), Sink)
    assert CrmAdapter(where).export(held).records == {}
