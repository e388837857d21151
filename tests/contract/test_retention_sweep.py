"""Per rule of the retention table, a person one day before, on, and one day after their end date (as the access
answer states it, "jusqu'au <date>"): kept, kept, then erased or anonymised in every reference system by the sweep's
tasks, holds honoured (R44, R46). On SQLite here; on PostgreSQL by the OnPostgres subclasses."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest

from dsr.retention import RetentionStore, Sweep, holds_of, plan_of, purge_unkeyed, run_sweep, scan
from gdpr.ropa import retention_dates
from gdpr.sealing import subject_ref
from gdpr.sweep import Hold
from handlers.protocol import RESTRICTION_TAG, Subject
from handlers.reference import CrmAdapter, NewsletterAdapter, RecruitmentAdapter
from handlers.reference.db import open_database
from handlers.reference.recruitment import RECRUITMENT_SCHEMA
from handlers.runtime import run_task
from schemas.tasks import KeepGround, LegalHold, TaskStatus
from streams.ports import MemoryKeyVault
from streams.sealing import Sealer
from tests.contract.stores import OnPostgres, OnSqlite
from tests.contract.test_adapters import HUGO, application, quote
from tests.contract.test_retention_scan import FIRST_CONTACT, LATER_CONTACT, REGISTER, Stamp

pytestmark = pytest.mark.contract

SECRET = b"retention-sweep-test-secret-0123456789"
CAMILLE = Subject(email="camille.sweep@example.test", name="Camille")
ARCHIVE_TAG = "_restricted"
DAY = timedelta(days=1)
# The recruitment schema before `candidates.process_ended_at`, as databases made then still have it.
OLD_RECRUITMENT_SCHEMA = RECRUITMENT_SCHEMA.replace(",\n  process_ended_at TEXT", "")
OLD_CANDIDATE = """INSERT INTO candidates (email, candidate_kind, talent_pool_consent, created_at, last_contact_at)
VALUES (?, 'employee', FALSE, ?, NULL)"""


class ExecutingSink:
    """Runs each task at once on its system through the task runtime, as a worker would."""

    def __init__(self, systems: dict, sealer: Sealer) -> None:
        self.systems, self.sealer, self.results, self.audits = systems, sealer, [], []

    def task(self, task):
        adapter = self.systems[task.system]
        result = asyncio.run(run_task(adapter, task, self.sealer.open, self.sealer.seal_existing, attempts=1))
        self.results.append(result)

    def audit(self, record):
        self.audits.append(record)

    def notify(self, request):
        pass

    def flush(self):
        pass


class SweepPerRule(OnSqlite):
    """Each scenario puts a person on file in some systems; the rules their categories follow are checked."""

    @pytest.fixture
    def clock(self):
        return Stamp()

    @pytest.fixture
    def systems(self, tmp_path, clock):
        return {
            "crm": CrmAdapter(self.location(tmp_path, "crm"), clock=clock),
            "newsletter": NewsletterAdapter(self.location(tmp_path, "newsletter"), secret=SECRET, clock=clock),
            "recruitment": RecruitmentAdapter(self.location(tmp_path, "recruitment"), tmp_path / "cv", clock=clock),
        }

    def sweep(self, systems, as_of: date, tmp_path: Path, holds=()):
        scanned = scan(systems.values(), REGISTER, SECRET, as_of, holds=holds)
        plan = plan_of(scanned, as_of, holds)
        sealer = Sealer(MemoryKeyVault(), SECRET)
        seal = lambda ref, value, system, lease=None: sealer.seal(ref, value, audience=system, lease=lease)  # noqa: E731
        sink = ExecutingSink(systems, sealer)
        sweep = Sweep(plan, scanned.emails, REGISTER, seal=seal, clock=lambda: FIRST_CONTACT, batch_size=2)
        run_sweep(sweep, sink, RetentionStore(tmp_path / f"store-{as_of}"))
        purge_unkeyed(sweep, systems.values(), sink, holds, SECRET)  # as `dsr retention run` does after the erasures
        return plan, sink

    def live(self, systems) -> dict[str, dict[str, list[dict]]]:
        """What each system still holds of the person outside the restricted archive."""
        out = {}
        for name, adapter in systems.items():
            records = adapter.export(CAMILLE).records
            kept = {c: rows for c, rows in records.items() if not all(r.get(ARCHIVE_TAG) for r in rows)}
            if kept:
                out[name] = kept
        return out

    def ends_by_system(self, systems) -> dict[str, date]:
        """The person's last end date in each system holding them, as their access answer states it."""
        out = {}
        for name, adapter in systems.items():
            ends = [
                date.fromisoformat(e["until"])
                for e in retention_dates(REGISTER, name, adapter.export(CAMILLE).records)
                if e["until"]
            ]
            if ends:
                out[name] = max(ends)
        return out

    def last_end(self, systems) -> date:
        return max(self.ends_by_system(systems).values())

    def rules_of(self, systems) -> set[str]:
        return {
            e["rule"]
            for name, adapter in systems.items()
            for e in retention_dates(REGISTER, name, adapter.export(CAMILLE).records)
        }

    @pytest.mark.parametrize(
        ("scenario", "expected_rules"),
        [
            ("prospect", {"crm_contact", "marketing_3y", "newsletter_3y"}),
            ("customer", {"crm_contact", "marketing_3y", "newsletter_3y", "invoices_active"}),
            ("franchisee_candidate", {"candidate"}),
            ("talent_pool_candidate", {"candidate"}),
            ("employee_candidate", {"candidate"}),
        ],
    )
    def test_kept_through_the_end_date_then_erased_everywhere_the_day_after(
        self, systems, tmp_path, scenario, expected_rules
    ):
        # R44 per category: each category goes the day after its own end (a customer's marketing choices a year
        # before the customer file), and nothing of what still runs goes with it.
        getattr(self, f"put_{scenario}")(systems)
        assert self.rules_of(systems) == expected_rules
        ends = self.ends_by_category(systems)
        assert set(ends) == set(self.live_categories(systems))
        for end in sorted(set(ends.values())):
            ending = {key for key, e in ends.items() if e == end}
            running = {key for key, e in ends.items() if e >= end}
            # The day before these categories' end, and on the end date itself: nothing of them goes.
            before = {key: rows for key, rows in self.live_categories(systems).items() if key in running}
            for kept_on in (end - DAY, end):
                plan, _ = self.sweep(systems, kept_on, tmp_path)
                assert not ending & {(i.system, c) for i in plan.items for c in i.categories}
                assert {key: rows for key, rows in self.live_categories(systems).items() if key in running} == before
            # The day after: erased (or anonymised, or archived), by tasks that succeeded; the others still there.
            plan, sink = self.sweep(systems, end + DAY, tmp_path)
            assert ending <= {(i.system, c) for i in plan.items for c in i.categories}
            assert sink.results and all(r.status is TaskStatus.DONE for r in sink.results)
            left = self.live_categories(systems)
            assert not ending & set(left)
            assert {key: rows for key, rows in left.items() if key in running - ending} == {
                key: rows for key, rows in before.items() if key not in ending
            }
        assert self.live(systems) == {}

    def ends_by_category(self, systems) -> dict[tuple[str, str], date]:
        """The person's end date per system and category, as their access answer states it."""
        return {
            (name, e["category"]): date.fromisoformat(e["until"])
            for name, adapter in systems.items()
            for e in retention_dates(REGISTER, name, adapter.export(CAMILLE).records)
            if e["until"]
        }

    def live_categories(self, systems) -> dict[tuple[str, str], list[dict]]:
        return {(name, c): rows for name, records in self.live(systems).items() for c, rows in records.items()}

    def test_invoices_move_to_the_restricted_archive(self, systems, tmp_path):
        self.put_customer(systems)
        self.sweep(systems, self.last_end(systems) + DAY, tmp_path)
        archived = systems["crm"].export(CAMILLE).records["archived_invoices"]
        assert len(archived) == 1 and archived[0][ARCHIVE_TAG] is True

    def test_a_legal_hold_keeps_its_category_restricted_and_the_rest_goes(self, systems, tmp_path):
        self.put_prospect(systems)
        hold = LegalHold(
            hold_id="litige-7",
            categories=["call_notes"],
            ground=KeepGround.LEGAL_CLAIMS,
            owner="legal",
            review_on=date(2031, 1, 1),
        )
        systems["crm"].add_call_note(CAMILLE.email, "Réclamation", direction="inbound", called_at="2022-03-14")
        holds = [Hold(subject_ref(SECRET, CAMILLE.email), hold, "crm")]
        self.sweep(systems, self.last_end(systems) + DAY, tmp_path, holds)
        assert set(self.live(systems)) == {"crm"}
        (note,) = self.live(systems)["crm"]["call_notes"]
        assert "legal_hold:litige-7" in note[RESTRICTION_TAG]
        assert set(self.live(systems)["crm"]) == {"call_notes"}

    @pytest.mark.parametrize(("direction", "kept"), [("outbound", False), ("inbound", True)])
    def test_the_prospect_clock_restarts_on_a_call_from_the_person_not_on_ours(
        self, systems, tmp_path, direction, kept
    ):
        # §5 row 5: a year later we called her (outbound), or she called us (inbound).
        self.put_prospect(systems)
        crm_end = self.ends_by_system({"crm": systems["crm"]})["crm"]
        systems["crm"].add_call_note(CAMILLE.email, "Relance", direction=direction, called_at="2023-03-14T10:00:00")
        self.sweep(systems, crm_end + DAY, tmp_path)
        assert ("crm" in self.live(systems)) is kept

    def test_suppression_fingerprints_go_the_day_after_their_end_and_newer_ones_stay(self, systems, tmp_path, clock):
        # R45: Camille objected in March 2022, Hugo two years later; of them the newsletter keeps a fingerprint only,
        # for three years from the objection (suppression_3y), then it goes like any record past its end (R44).
        newsletter = systems["newsletter"]
        newsletter.suppress_marketing(CAMILLE, ("email",), source="objection")
        clock.now = LATER_CONTACT
        newsletter.suppress_marketing(HUGO, ("email",), source="objection")
        end = date(2025, 3, 14)
        for kept_on in (end - DAY, end):
            plan, _ = self.sweep(systems, kept_on, tmp_path)
            assert plan.purges == () and newsletter.is_suppressed(CAMILLE.email)
        (found,) = newsletter.retention_scan(end + DAY, REGISTER).unkeyed
        assert (found.category, found.rule, found.end_date, found.count) == (
            "suppression_entry",
            "suppression_3y",
            end,
            1,
        )
        plan, _ = self.sweep(systems, end + DAY, tmp_path)
        assert [(p.system, p.rule, p.count) for p in plan.purges] == [("newsletter", "suppression_3y", 1)]
        assert plan.size == 0  # nobody to ask for: the system deletes the fingerprints itself
        assert not newsletter.is_suppressed(CAMILLE.email) and newsletter.is_suppressed(HUGO.email)
        assert newsletter.retention_scan(end + DAY, REGISTER).unkeyed == ()

    def test_an_employee_candidate_outside_the_talent_pool_goes_three_months_after_the_process_ends(
        self, systems, tmp_path
    ):
        # §5 row 7, CNIL-RECR: Camille applied in March 2022 and did not join the talent pool. While her recruitment
        # process runs, her end cannot be dated: years later she is still kept, never erased on a guess.
        recruitment = systems["recruitment"]
        self.put_applicant(systems)
        plan, _ = self.sweep(systems, date(2030, 1, 1), tmp_path)
        assert plan.size == 0 and "recruitment" in self.live(systems)
        # The recruiter closes the process on 2 May 2022: her access answer says "until 2 August 2022".
        assert recruitment.end_process(CAMILLE.email, "2022-05-02T17:30:00+00:00") == 1
        end = date(2022, 8, 2)
        assert self.ends_by_system(systems) == {"recruitment": end}
        for kept_on in (end - DAY, end):
            plan, _ = self.sweep(systems, kept_on, tmp_path)
            assert plan.size == 0 and set(self.live(systems)["recruitment"]) == {
                "candidate",
                "applications",
                "cv_files",
            }
        plan, sink = self.sweep(systems, end + DAY, tmp_path)
        assert [(i.system, sorted(i.categories)) for i in plan.items] == [
            ("recruitment", ["applications", "candidate", "cv_files"])
        ]
        assert all(r.status is TaskStatus.DONE for r in sink.results)
        assert self.live(systems) == {} and not list((tmp_path / "cv").iterdir())  # the CV file went too

    def test_a_new_application_reopens_the_process(self, systems, tmp_path):
        # Camille's first process ended in May 2022; she applies again in June 2024: a new process, undated again.
        self.put_applicant(systems)
        systems["recruitment"].end_process(CAMILLE.email, "2022-05-02")
        data = application(CAMILLE.email)
        systems["recruitment"].record_submission("job-2", "dsr.form.job_application_submitted", CAMILLE, data)
        assert self.ends_by_system(systems) == {}
        assert self.sweep(systems, date(2030, 1, 1), tmp_path)[0].size == 0

    def test_a_recruitment_database_made_before_the_process_end_gains_it(self, tmp_path, clock):
        # A recruitment store created by an earlier version, without the column: opened again, it gains it; the
        # candidate already there has no end (kept), until the recruiter closes the process.
        assert "process_ended_at" not in OLD_RECRUITMENT_SCHEMA
        where, cv = self.location(tmp_path, "recruitment"), tmp_path / "cv"
        before = open_database(where, OLD_RECRUITMENT_SCHEMA)
        with before.transaction() as conn:
            conn.execute(OLD_CANDIDATE, (CAMILLE.email, "2022-03-14T10:00:00+00:00"))
        before.close()
        recruitment = RecruitmentAdapter(where, cv, clock=clock)
        assert recruitment.export(CAMILLE).records["candidate"][0]["process_ended_at"] is None
        assert recruitment.retention_scan(date(2030, 1, 1), REGISTER).due == ()
        recruitment.end_process(CAMILLE.email, "2022-05-02")
        assert {d.end_date for d in recruitment.retention_scan(date(2030, 1, 1), REGISTER).due} == {date(2022, 8, 2)}
        RecruitmentAdapter(where, cv, clock=clock).close()  # opening once more adds nothing twice

    def test_archived_invoices_go_ten_years_after_the_close_of_their_financial_year(self, systems, tmp_path):
        # L123-22, §5 row 6: Camille's invoice of April 2022 and Hugo's of February 2023 moved to the restricted
        # archive when each asked for erasure (Art. 17(3)(b)). Camille's is kept through 31 December 2032.
        crm = systems["crm"]
        crm.add_invoice(CAMILLE.email, "F-2022-1", 15000, "2022-04-01", paid_at="2022-04-10")
        crm.add_invoice(HUGO.email, "F-2023-7", 9000, "2023-02-01", paid_at="2023-02-15")
        crm.erase(CAMILLE)
        crm.erase(HUGO)
        end = date(2032, 12, 31)
        for kept_on in (end - DAY, end):
            plan, _ = self.sweep(systems, kept_on, tmp_path)
            assert plan.purges == () and "archived_invoices" in crm.export(CAMILLE).records
        (found,) = crm.retention_scan(end + DAY, REGISTER).unkeyed
        assert (found.category, found.rule, found.end_date, found.count) == (
            "archived_invoices",
            "accounting_10y",
            end,
            1,
        )
        # The day after: the sweep has the CRM purge it, with no one to ask for; Hugo's runs another year.
        plan, sink = self.sweep(systems, end + DAY, tmp_path)
        assert [(p.system, p.category, p.rule, p.count) for p in plan.purges] == [
            ("crm", "archived_invoices", "accounting_10y", 1)
        ]
        assert plan.size == 0 and ("crm", "archived_invoices", 0, 1) in {
            (r.system, r.category, r.count, r.records) for r in plan.rows
        }
        assert crm.export(CAMILLE).records == {} and "archived_invoices" in crm.export(HUGO).records
        # Recorded in dsr.audit with counts only: no address, no invoice number.
        (audit,) = [a for a in sink.audits if a.kind == "retention_unkeyed_purged"]
        assert {k: audit.detail[k] for k in ("system", "category", "rule", "purged")} == {
            "system": "crm",
            "category": "archived_invoices",
            "rule": "accounting_10y",
            "purged": 1,
        }
        assert not any(secret in audit.model_dump_json() for secret in (CAMILLE.email, HUGO.email, "F-2022-1"))
        assert crm.retention_scan(end + DAY, REGISTER).unkeyed == () and crm.purge_expired(end + DAY, REGISTER) == 0

    def test_a_legal_hold_on_invoices_keeps_an_archived_invoice_past_its_end(self, systems, tmp_path):
        # R46: Camille disputes her invoice of April 2022; the DPO holds her CRM invoices. Past the archive's end
        # (31 December 2032) Hugo's invoice of June 2022 goes, hers stays, and the plan counts it held.
        crm = systems["crm"]
        crm.add_invoice(CAMILLE.email, "F-2022-1", 15000, "2022-04-01", paid_at="2022-04-10")
        crm.add_invoice(HUGO.email, "F-2022-9", 9000, "2022-06-01", paid_at="2022-06-15")
        crm.erase(CAMILLE)
        crm.erase(HUGO)
        hold = LegalHold(
            hold_id="litige-9",
            categories=["invoices"],
            ground=KeepGround.LEGAL_CLAIMS,
            owner="legal",
            review_on=date(2034, 1, 1),
        )
        holds = [Hold(subject_ref(SECRET, CAMILLE.email), hold, "crm")]
        (found,) = crm.retention_scan(date(2033, 1, 1), REGISTER).unkeyed
        assert (found.count, found.held) == (2, 0)  # asked without holds, the CRM keeps none
        plan, sink = self.sweep(systems, date(2033, 1, 1), tmp_path, holds)
        assert [(p.count, p.held) for p in plan.purges] == [(2, 1)]
        assert ("crm", "archived_invoices", 2, 1) in {(r.system, r.category, r.records, r.held) for r in plan.rows}
        assert "archived_invoices" in crm.export(CAMILLE).records and crm.export(HUGO).records == {}
        # A hold in another system, or on other categories, keeps nothing here.
        elsewhere = [Hold(subject_ref(SECRET, CAMILLE.email), hold, "newsletter")]
        notes = [Hold(subject_ref(SECRET, CAMILLE.email), hold.model_copy(update={"categories": ["call_notes"]}))]
        for other in (elsewhere, notes):
            (found,) = crm.retention_scan(date(2033, 1, 1), REGISTER, holds_of=holds_of(other, SECRET, "crm")).unkeyed
            assert found.held == 0
        self.sweep(systems, date(2033, 1, 1), tmp_path, [])  # released: the next sweep purges it
        assert crm.export(CAMILLE).records == {}

    # --- People, as each system comes to hold them -----------------------------------------------

    def put_prospect(self, systems):
        for name in ("crm", "newsletter"):
            systems[name].record_submission("quote-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))

    def put_customer(self, systems):
        self.put_prospect(systems)
        systems["crm"].add_invoice(CAMILLE.email, "F-2022-1", 15000, "2022-04-01", paid_at="2022-04-10")

    def put_franchisee_candidate(self, systems):
        data = application(CAMILLE.email, candidate_kind="franchisee")
        systems["recruitment"].record_submission("job-1", "dsr.form.job_application_submitted", CAMILLE, data)

    def put_applicant(self, systems):
        data = application(CAMILLE.email)  # an employee candidate, outside the talent pool
        systems["recruitment"].record_submission("job-1", "dsr.form.job_application_submitted", CAMILLE, data)

    def put_employee_candidate(self, systems):
        self.put_applicant(systems)
        systems["recruitment"].end_process(CAMILLE.email, "2022-05-02T17:30:00+00:00")

    def put_talent_pool_candidate(self, systems):
        data = application(CAMILLE.email, talent_pool_consent=True)
        systems["recruitment"].record_submission("job-1", "dsr.form.job_application_submitted", CAMILLE, data)


class TestSweepPerRule(SweepPerRule):
    pass


class TestSweepPerRuleOnPostgres(OnPostgres, SweepPerRule):
    pass
