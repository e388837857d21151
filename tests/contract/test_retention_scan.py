"""The retention_scan verb (R44): the memory twin, the reference CRM and the declarative SQL adapter report
what has passed its end on a date, dated as the access answer dates it; on SQLite and PostgreSQL. A webhook
system and a back-office SDK system pass the same suite through their wire protocols. Each of them erases by
category: a category past its end is reported (and erased) while the person's other categories still run."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from dsr.register import load_register
from dsr.retention import scan
from dsr.retention_backoffice import BackOfficeScan, parse_page
from gdpr.ropa import retention_dates
from handlers.declarative import DeclarativeSqlAdapter
from handlers.mapping import MappingError, parse_mapping
from handlers.memory import MemoryAdapter
from handlers.protocol import (
    ErasureReport,
    Subject,
    TaskRefused,
    UnsupportedAction,
    erases_by_category,
    scans_retention,
)
from handlers.reference import CrmAdapter, NewsletterAdapter
from handlers.sdk import BackOffice, Erased, OpenedTask
from handlers.webhook import RemoteInvalidTask, WebhookAdapter
from handlers.webhook_receiver import WebhookReceiver, running
from schemas.scans import SealedSubject
from schemas.tasks import LegalHold, Task, TaskAction, TaskStatus
from streams.ports import MemoryKeyVault
from streams.sealing import Sealer
from tests.contract.stores import OnPostgres, OnSqlite
from tests.contract.test_adapters import CAMILLE, HUGO, quote

pytestmark = pytest.mark.contract

REGISTER = load_register(None)
CRM_MAPPING = Path(__file__).resolve().parents[2] / "examples" / "declarative" / "crm.yaml"
WEBHOOK_SECRET = "retention-webhook-secret-0123456789"
FIRST_CONTACT = datetime(2022, 3, 14, 10, 0, tzinfo=UTC)
LATER_CONTACT = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


class Stamp:
    """A clock the test moves: records written now carry this date."""

    def __init__(self) -> None:
        self.now = FIRST_CONTACT

    def __call__(self) -> datetime:
        return self.now


class RetentionScanContract:
    """Subclasses give the factory and how a person comes on file (a quote request, in the CRM)."""

    def make_adapter(self, tmp_path: Path, clock: Stamp):
        raise NotImplementedError

    def put_person(self, adapter, subject: Subject, clock: Stamp) -> None:
        adapter.record_submission(f"quote-{subject.email}", "dsr.form.quote_requested", subject, quote(subject.email))

    def put_paid_invoice(self, adapter, subject: Subject, paid: str) -> None:
        """An invoice paid on `paid`: the customer file runs 4 years from it, the marketing choices (recorded with
        the quote request) 3 (§5 rows 5-6)."""
        adapter.add_invoice(subject.email, "F-1", 12000, paid, paid_at=paid)

    def put_customer(self, adapter, subject: Subject, clock: Stamp) -> tuple[date, set[str], set[str]]:
        """A customer whose marketing consents end a year before the rest of the file: the first end, the
        categories ending then, and those still running the day after."""
        self.put_person(adapter, subject, clock)
        self.put_paid_invoice(adapter, subject, "2022-03-20")
        ends = self.end_of(adapter, subject)
        first = min(ends.values())
        early = {c for c, end in ends.items() if end == first}
        assert early and first < max(ends.values())
        return first, early, set(ends) - early

    @pytest.fixture
    def clock(self) -> Stamp:
        return Stamp()

    @pytest.fixture
    def adapter(self, tmp_path: Path, clock: Stamp):
        return self.make_adapter(tmp_path, clock)

    def end_of(self, adapter, subject: Subject) -> dict[str, date]:
        """The person's end date per category, as their access answer states it."""
        entries = retention_dates(REGISTER, adapter.name, adapter.export(subject).records)
        return {e["category"]: date.fromisoformat(e["until"]) for e in entries if e["until"]}

    def test_declares_the_verb(self, adapter):
        assert scans_retention(adapter)

    def test_nothing_is_due_the_day_before_the_end(self, adapter, clock):
        self.put_person(adapter, CAMILLE, clock)
        last = min(self.end_of(adapter, CAMILLE).values())
        assert adapter.retention_scan(last - timedelta(days=1), REGISTER).due == ()

    def test_nothing_is_due_on_the_end_date(self, adapter, clock):
        # The access answer says "kept until <date>": the data are kept through that day (R44).
        self.put_person(adapter, CAMILLE, clock)
        assert adapter.retention_scan(max(self.end_of(adapter, CAMILLE).values()), REGISTER).due == ()

    def test_every_category_is_due_the_day_after_with_the_answer_s_end_date(self, adapter, clock):
        self.put_person(adapter, CAMILLE, clock)
        ends = self.end_of(adapter, CAMILLE)
        scan = adapter.retention_scan(max(ends.values()) + timedelta(days=1), REGISTER)
        found = {d.category: d for d in scan.due}
        assert {c: d.end_date for c, d in found.items()} == ends
        assert {d.email for d in scan.due} == {CAMILLE.email}
        assert all(d.rule == REGISTER.systems[adapter.name].categories[d.category].retention for d in scan.due)
        assert all(d.count >= 1 for d in scan.due)

    def test_a_person_still_running_stays_out_and_is_counted_waiting(self, adapter, clock):
        self.put_person(adapter, CAMILLE, clock)
        clock.now = LATER_CONTACT
        self.put_person(adapter, HUGO, clock)
        camille_end = max(self.end_of(adapter, CAMILLE).values())
        assert camille_end < min(self.end_of(adapter, HUGO).values())
        scan = adapter.retention_scan(camille_end + timedelta(days=1), REGISTER)
        assert {d.email for d in scan.due} == {CAMILLE.email}

    def test_an_erased_person_is_no_longer_reported(self, adapter, clock):
        self.put_person(adapter, CAMILLE, clock)
        after = max(self.end_of(adapter, CAMILLE).values()) + timedelta(days=1)
        adapter.erase(CAMILLE)
        assert adapter.retention_scan(after, REGISTER).due == ()

    def test_a_category_past_its_end_is_due_while_another_still_runs(self, adapter, clock):
        first, early, running = self.put_customer(adapter, CAMILLE, clock)
        assert adapter.retention_scan(first, REGISTER).due == ()  # kept through the end date
        scan = adapter.retention_scan(first + timedelta(days=1), REGISTER)
        assert scan.by_category and scan.waiting == 0
        assert {d.category for d in scan.due} == early and {d.end_date for d in scan.due} == {first}
        assert {d.email for d in scan.due} == {CAMILLE.email}

    def test_the_erase_by_category_takes_only_the_due_ones(self, adapter, clock):
        first, early, running = self.put_customer(adapter, CAMILLE, clock)
        due = {d.category for d in adapter.retention_scan(first + timedelta(days=1), REGISTER).due}
        before = self.end_of(adapter, CAMILLE)
        report = adapter.erase(CAMILLE, categories=tuple(sorted(due)))
        left = adapter.export(CAMILLE).records
        assert report.erased_items >= 1
        assert not early & set(left) and running <= set(left)  # the others still readable, untouched
        assert adapter.lookup(CAMILLE).holds_data
        assert self.end_of(adapter, CAMILLE) == {c: e for c, e in before.items() if c in running}
        assert adapter.retention_scan(first + timedelta(days=1), REGISTER).due == ()

    def test_a_held_category_is_not_erased_by_category(self, adapter, clock):
        first, early, running = self.put_customer(adapter, CAMILLE, clock)
        hold = LegalHold(
            hold_id="h1", categories=sorted(early), ground="legal_claims", owner="legal", review_on=date(2031, 1, 1)
        )
        adapter.erase(CAMILLE, holds=(hold,), categories=tuple(sorted(early)))
        assert early | running <= set(adapter.export(CAMILLE).records)  # R46: the hold wins


class TestMemoryTwin(RetentionScanContract):
    def make_adapter(self, tmp_path, clock):
        return MemoryAdapter("crm")

    def put_person(self, adapter, subject, clock):
        at = clock.now.isoformat()
        adapter.seed(subject.email, "person", {"email": subject.email, "created_at": at, "last_contact_at": at})
        adapter.seed(subject.email, "quote_requests", {"service": "jardinage", "submitted_at": at})

    def put_paid_invoice(self, adapter, subject, paid):
        invoice = {"number": "F-1", "amount_cents": 12000, "issued_at": paid, "paid_at": paid, "_origin": "observed"}
        adapter.seed(subject.email, "invoices", invoice)
        adapter.seed(subject.email, "consents", {"channel": "email", "granted": True, "recorded_at": paid})

    def test_a_system_that_does_not_scan_says_so(self):
        assert not scans_retention(MemoryAdapter("crm", retention_scan=False))


class TestReferenceCrm(OnSqlite, RetentionScanContract):
    def make_adapter(self, tmp_path, clock):
        return CrmAdapter(self.location(tmp_path, "crm"), clock=clock)

    def test_the_marketing_choices_go_at_their_end_the_customer_file_a_year_later(self, adapter, clock):
        # A paid invoice keeps the file 4 years, the marketing choices 3 (§5 rows 5-6): the consents go alone, the
        # invoices stay where they are (not yet archived), the access answer still dates the rest as before.
        first, early, running = self.put_customer(adapter, CAMILLE, clock)
        assert early == {"consents"} and {"person", "invoices"} <= running
        adapter.erase(CAMILLE, categories=("consents",))
        left = adapter.export(CAMILLE).records
        assert "consents" not in left and len(left["invoices"]) == 1 and "archived_invoices" not in left
        last = max(self.end_of(adapter, CAMILLE).values())
        assert {d.category for d in adapter.retention_scan(last + timedelta(days=1), REGISTER).due} == running
        adapter.erase(CAMILLE, categories=tuple(sorted(running)))
        assert set(adapter.export(CAMILLE).records) == {"archived_invoices"}  # L123-22: archived, not erased

    def test_the_scan_reads_people_a_range_at_a_time(self, adapter, clock):
        for subject in (CAMILLE, HUGO):
            self.put_person(adapter, subject, clock)
        end = max(self.end_of(adapter, CAMILLE).values()) + timedelta(days=1)
        whole, by_one = adapter.retention_scan(end, REGISTER), adapter.retention_scan(end, REGISTER, chunk=1)
        assert by_one == whole and {d.email for d in whole.due} == {CAMILLE.email, HUGO.email}


class TestReferenceCrmOnPostgres(OnPostgres, TestReferenceCrm):
    pass


class TestDeclarativeCrm(OnSqlite, RetentionScanContract):
    def make_adapter(self, tmp_path, clock):
        CrmAdapter(self.location(tmp_path, "crm"), clock=clock).close()
        self.where = self.location(tmp_path, "crm")
        return DeclarativeSqlAdapter(CRM_MAPPING, self.where, clock=clock)

    def put_paid_invoice(self, adapter, subject, paid):
        crm = CrmAdapter(self.where)  # the company's own application writes its invoices
        try:
            super().put_paid_invoice(crm, subject, paid)
        finally:
            crm.close()

    def test_the_mapping_names_the_column_that_starts_a_clock(self, tmp_path, clock):
        # A CRM whose contact date is in another column: without `clock` the person is undated, so kept.
        crm = CrmAdapter(self.location(tmp_path, "crm"), clock=clock)
        self.put_person(crm, CAMILLE, clock)
        crm.close()
        mapping = _with_clock(CRM_MAPPING, "people", {"first_contact": "created_at"})
        adapter = DeclarativeSqlAdapter(mapping, self.location(tmp_path, "crm"), clock=clock)
        assert adapter.export(CAMILLE).records["person"][0].get("first_contact") is None
        assert adapter._clocked(CAMILLE.email)["person"][0]["first_contact"] == FIRST_CONTACT.isoformat()

    def test_a_clock_column_the_database_lacks_stops_the_start(self, tmp_path, clock):
        CrmAdapter(self.location(tmp_path, "crm"), clock=clock).close()
        with pytest.raises(MappingError, match="clock.created_at"):
            DeclarativeSqlAdapter(
                _with_clock(CRM_MAPPING, "people", {"created_at": "no_such_column"}), self.location(tmp_path, "crm")
            )


class TestDeclarativeCrmOnPostgres(OnPostgres, TestDeclarativeCrm):
    pass


def _with_clock(path: Path, table: str, clock: dict):
    data = yaml.safe_load(path.read_text())
    data["tables"][table]["clock"] = clock
    return parse_mapping(data)


class TestWebhookSystem(RetentionScanContract):
    """A back office behind the reference webhook receiver, holding its data like the in-memory twin."""

    @pytest.fixture(autouse=True)
    def _servers(self):
        with ExitStack() as stack:
            self.servers = stack
            yield

    def make_adapter(self, tmp_path, clock):
        self.inner = MemoryAdapter("crm")
        url = self.servers.enter_context(running(WebhookReceiver(self.inner, WEBHOOK_SECRET, register=REGISTER)))
        return WebhookAdapter("crm", url, WEBHOOK_SECRET)

    def put_person(self, adapter, subject, clock):
        TestMemoryTwin.put_person(self, self.inner, subject, clock)

    def put_paid_invoice(self, adapter, subject, paid):
        TestMemoryTwin.put_paid_invoice(self, self.inner, subject, paid)

    def test_a_receiver_whose_system_cannot_erase_by_category_scans_whole_people_and_refuses_categories(self, clock):
        self.inner = MemoryAdapter("crm", erase_categories=False)
        url = self.servers.enter_context(running(WebhookReceiver(self.inner, WEBHOOK_SECRET, register=REGISTER)))
        adapter = WebhookAdapter("crm", url, WEBHOOK_SECRET)
        first, early, running_ = self.put_customer(adapter, CAMILLE, clock)
        found = adapter.retention_scan(first + timedelta(days=1), REGISTER)
        assert (found.due, found.waiting, found.by_category) == ((), 1, False)
        with pytest.raises(RemoteInvalidTask, match="does not erase by category"):
            adapter.erase(CAMILLE, categories=("consents",))
        assert early | running_ <= set(adapter.export(CAMILLE).records)

    def test_a_receiver_that_does_not_scan_is_listed_as_unsupported(self):
        url = self.servers.enter_context(running(WebhookReceiver(MemoryAdapter("billing"), WEBHOOK_SECRET)))
        scanned = scan([WebhookAdapter("billing", url, WEBHOOK_SECRET)], REGISTER, b"k" * 32, date(2030, 1, 1))
        assert scanned.unsupported == ["billing"] and scanned.due == []


class PipelineSeals:
    """The SDK's task API port with the pipeline's sealing (POST /api/retention/subjects) over a memory vault."""

    def __init__(self) -> None:
        self.sealer = Sealer(MemoryKeyVault(), b"k" * 32)

    def seal_subjects(self, system: str, emails: list[str]) -> list[SealedSubject]:
        return [self._sealed(self.sealer.ref(email), email) for email in emails]

    def _sealed(self, ref: str, email: str) -> SealedSubject:
        return SealedSubject(subject_ref=ref, subject=self.sealer.seal(ref, {"email": email}))

    def open(self, sealed) -> str:
        return self.sealer.open(sealed)["email"]


class Loopback:
    """The SDK consumer and the sweep joined without Kafka: the request and every page cross as their bytes."""

    def __init__(self, office: BackOffice) -> None:
        self.office, self.wire = office, []

    def ask(self, request) -> None:
        topic, key = f"dsr.tasks.{request.system}", request.scan_id.encode()
        self.office.serve(
            SimpleNamespace(topic=topic, partition=0, offset=0, key=key, value=request.to_bytes()), self, self
        )

    def send(self, topic, key=None, value=None, headers=None):
        self.wire.append((topic, value))
        return SimpleNamespace(get=lambda timeout=None: None)

    def commit(self, offsets) -> None:
        pass

    def pages(self, scan_id: str, wait: float):
        pages = [parse_page(value) for topic, value in self.wire if topic == "dsr.retention-scans"]
        return [page for page in pages if page.scan_id == scan_id]  # as the Kafka transport reads by key


class PipelineTasks:
    """The rest of the SDK's task API port: an erase task's subject opened, as POST /api/tasks/open does."""

    def __init__(self, seals: PipelineSeals) -> None:
        self.seals = seals

    def seal_subjects(self, system: str, emails: list[str]) -> list[SealedSubject]:
        return self.seals.seal_subjects(system, emails)

    def open(self, task: Task) -> dict:
        return {"task_id": task.task_id, "subject": self.seals.sealer.open(task.subject), "payload": None}


class SdkSystem:
    """What the suite drives: the sweep's view of the SDK system (retention_scan over the wire, erase as a task
    through the office's handler), and the system's own store beside it for the suite's export and lookup."""

    def __init__(self, inner: MemoryAdapter, scanner: BackOfficeScan, office: BackOffice, seals: PipelineSeals):
        self.inner, self.scanner, self.office, self.seals = inner, scanner, office, seals
        self.name, self.capabilities = scanner.name, scanner.capabilities
        self.retention_scan, self.export, self.lookup = scanner.retention_scan, inner.export, inner.lookup

    def erase(self, subject: Subject, holds=(), categories=()) -> ErasureReport:
        ref = self.seals.sealer.ref(subject.email)
        task = Task(
            task_id=str(uuid.uuid4()),  # each call a new task: the office answers a known id from its record
            subject_request_id="retention-contract",
            system=self.name,
            action=TaskAction.ERASE,
            subject_ref=ref,
            subject=self.seals.sealer.seal(ref, {"email": subject.email, "name": subject.name}),
            holds=list(holds),
            categories=list(categories),
            issued_at=datetime.now(UTC),
        )
        result = self.office.answer(task.to_bytes()).result
        if result.status is TaskStatus.FAILED:
            raise TaskRefused(result.error)
        return ErasureReport(result.erased_items, tuple(result.kept))


def sdk_system(inner: MemoryAdapter, tmp_path: Path, scans: bool = True, page_size: int = 500) -> SdkSystem:
    seals = PipelineSeals()
    office = BackOffice(inner.name, api=PipelineTasks(seals), state_dir=tmp_path, register=REGISTER)
    if scans:
        office.handles("retention_scan")(inner.retention_scan)

    @office.handles("erase", by_category=erases_by_category(inner))
    def erase(task: OpenedTask) -> Erased:
        report = inner.erase(Subject(task.email, task.name), tuple(task.holds), tuple(task.categories))
        return Erased(report.erased_items, report.kept)

    scanner = BackOfficeScan(inner.name, Loopback(office), seals.open, timeout=5, page_size=page_size)
    return SdkSystem(inner, scanner, office, seals)


class TestBackOfficeSdkSystem(RetentionScanContract):
    """A system served by the back-office SDK, whose own adapter scans: the sweep asks on its task topic and
    reads the answer's pages (tests/integration/test_retention_sdk.py does it on real Kafka)."""

    def make_adapter(self, tmp_path, clock):
        return sdk_system(MemoryAdapter("crm"), tmp_path)

    def put_person(self, adapter, subject, clock):
        TestMemoryTwin.put_person(self, adapter.inner, subject, clock)

    def put_paid_invoice(self, adapter, subject, paid):
        TestMemoryTwin.put_paid_invoice(self, adapter.inner, subject, paid)

    def test_pages_are_bounded_and_carry_no_address_in_clear(self, tmp_path, clock):
        adapter = sdk_system(MemoryAdapter("crm"), tmp_path, page_size=2)
        people = [Subject(email=f"p{n}@example.test") for n in range(5)]
        for person in people:
            self.put_person(adapter, person, clock)
        found = adapter.retention_scan(date(2040, 1, 1), REGISTER)
        assert {d.email for d in found.due} == {p.email for p in people}
        pages = [parse_page(value) for _, value in adapter.scanner.transport.wire]
        assert [(p.page, len(p.due), p.last) for p in pages] == [(1, 2, False), (2, 2, False), (3, 1, True)]
        assert (pages[-1].pages, pages[-1].people) == (3, 5)
        assert not any(b"example.test" in value for _, value in adapter.scanner.transport.wire)

    def test_an_office_whose_erase_ignores_categories_fails_a_task_naming_some_and_a_scan_by_category(
        self, tmp_path, clock
    ):
        inner = MemoryAdapter("crm")
        seals = PipelineSeals()
        office = BackOffice("crm", api=PipelineTasks(seals), state_dir=tmp_path, register=REGISTER)
        office.handles("retention_scan")(inner.retention_scan)  # scans by category
        office.handles("erase")(lambda task: Erased(inner.erase(Subject(task.email)).erased_items))  # erases all
        adapter = SdkSystem(inner, BackOfficeScan("crm", Loopback(office), seals.open, timeout=5), office, seals)
        first, early, running = self.put_customer(adapter, CAMILLE, clock)
        with pytest.raises(TaskRefused, match="does not erase by category"):
            adapter.erase(CAMILLE, categories=tuple(early))
        assert early | running <= set(inner.export(CAMILLE).records)
        scanned = scan([adapter], REGISTER, b"k" * 32, first + timedelta(days=1))
        assert scanned.due == [] and "not declared by_category=True" in scanned.unanswered["crm"]

    def test_a_system_whose_sdk_adapter_lacks_the_verb_is_listed_as_unsupported(self, tmp_path):
        adapter = sdk_system(MemoryAdapter("billing"), tmp_path, scans=False)
        scanned = scan([adapter], REGISTER, b"k" * 32, date(2030, 1, 1))
        assert scanned.unsupported == ["billing"] and scanned.due == [] and scanned.unanswered == {}


class UnkeyedOverTheWire:
    """R44, R45: a system on a wire protocol reports the records past their end that name no one (the reference
    newsletter's suppression fingerprints behind it) and purges them when asked, as an in-process system does."""

    def make_system(self, inner, tmp_path: Path):
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> Stamp:
        return Stamp()

    @pytest.fixture
    def newsletter(self, tmp_path, clock):
        return NewsletterAdapter(OnSqlite().location(tmp_path, "newsletter"), secret=b"k" * 32, clock=clock)

    def test_records_of_no_one_are_counted_then_purged_on_request(self, newsletter, tmp_path, clock):
        system = self.make_system(newsletter, tmp_path)
        newsletter.suppress_marketing(CAMILLE, ("email",), source="objection")  # 14 March 2022: kept 3 years
        end = date(2025, 3, 14)
        assert system.retention_scan(end, REGISTER).unkeyed == ()
        (found,) = system.retention_scan(end + timedelta(days=1), REGISTER).unkeyed
        assert (found.category, found.rule, found.action, found.end_date, found.last_end_date, found.count) == (
            "suppression_entry",
            "suppression_3y",
            "delete",
            end,
            end,
            1,
        )
        # The sweep plans it as a purge of the system's own, and has the system carry it out (dsr retention run).
        scanned = scan([system], REGISTER, b"k" * 32, end + timedelta(days=1))
        assert [(p.system, p.rule, p.count) for p in scanned.purges] == [("newsletter", "suppression_3y", 1)]
        assert system.purge_expired(end + timedelta(days=1), REGISTER) == 1
        assert not newsletter.is_suppressed(CAMILLE.email)
        assert system.retention_scan(end + timedelta(days=1), REGISTER).unkeyed == ()
        assert system.purge_expired(end + timedelta(days=1), REGISTER) == 0  # idempotent

    def test_a_system_that_does_not_purge_says_so(self, tmp_path):
        system = self.make_system(MemoryAdapter("newsletter"), tmp_path)
        with pytest.raises(UnsupportedAction):
            system.purge_expired(date(2030, 1, 1), REGISTER)


class TestUnkeyedOverWebhooks(UnkeyedOverTheWire):
    @pytest.fixture(autouse=True)
    def _servers(self):
        with ExitStack() as stack:
            self.servers = stack
            yield

    def make_system(self, inner, tmp_path):
        url = self.servers.enter_context(running(WebhookReceiver(inner, WEBHOOK_SECRET, register=REGISTER)))
        return WebhookAdapter(inner.name, url, WEBHOOK_SECRET)


class TestUnkeyedOverTheSdk(UnkeyedOverTheWire):
    def make_system(self, inner, tmp_path):
        seals = PipelineSeals()
        office = BackOffice(inner.name, api=seals, state_dir=tmp_path, register=REGISTER)
        office.handles("retention_scan")(inner.retention_scan)

        @office.handles("erase", by_category=erases_by_category(inner))  # the scan reports by category
        def erase(task: OpenedTask) -> Erased:
            report = inner.erase(Subject(task.email, task.name), tuple(task.holds), tuple(task.categories))
            return Erased(report.erased_items, report.kept)

        if callable(getattr(inner, "purge_expired", None)):
            office.handles("purge_expired")(inner.purge_expired)
        return BackOfficeScan(inner.name, Loopback(office), seals.open, timeout=5)

    def test_the_pages_carry_counts_only(self, newsletter, tmp_path, clock):
        system = self.make_system(newsletter, tmp_path)
        newsletter.suppress_marketing(CAMILLE, ("email",), source="objection")
        system.retention_scan(date(2030, 1, 1), REGISTER)
        system.purge_expired(date(2030, 1, 1), REGISTER)
        (scanned, purged) = [parse_page(value) for _, value in system.transport.wire]
        assert scanned.unkeyed[0].count == 1 and purged.purged == 1 and (purged.people, purged.due) == (0, [])
        assert not any(b"example.test" in value for _, value in system.transport.wire)
