"""The retention_scan verb (R44): the memory twin, the reference CRM and the declarative SQL adapter report
what has passed its end on a date, dated as the access answer dates it; on SQLite and PostgreSQL. A webhook
system and a back-office SDK system pass the same suite through their wire protocols."""

from __future__ import annotations

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
from handlers.protocol import Subject, UnsupportedAction, scans_retention
from handlers.reference import CrmAdapter, NewsletterAdapter
from handlers.sdk import BackOffice
from handlers.webhook import WebhookAdapter
from handlers.webhook_receiver import WebhookReceiver, running
from schemas.scans import SealedSubject
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


class TestMemoryTwin(RetentionScanContract):
    def make_adapter(self, tmp_path, clock):
        return MemoryAdapter("crm")

    def put_person(self, adapter, subject, clock):
        at = clock.now.isoformat()
        adapter.seed(subject.email, "person", {"email": subject.email, "created_at": at, "last_contact_at": at})
        adapter.seed(subject.email, "quote_requests", {"service": "jardinage", "submitted_at": at})

    def test_a_system_that_does_not_scan_says_so(self):
        assert not scans_retention(MemoryAdapter("crm", retention_scan=False))


class TestReferenceCrm(OnSqlite, RetentionScanContract):
    def make_adapter(self, tmp_path, clock):
        return CrmAdapter(self.location(tmp_path, "crm"), clock=clock)

    def test_waiting_counts_a_person_with_one_category_still_running(self, adapter, clock):
        # A paid invoice keeps the file longer than the marketing choices: on the first end, part of the
        # person is due and part is not, so nothing of them goes until the latest end.
        self.put_person(adapter, CAMILLE, clock)
        adapter.add_invoice(CAMILLE.email, "F-1", 12000, "2022-03-20", paid_at="2022-03-20")
        ends = self.end_of(adapter, CAMILLE)
        assert min(ends.values()) < max(ends.values())
        scan = adapter.retention_scan(min(ends.values()) + timedelta(days=1), REGISTER)
        assert scan.due == ()
        assert scan.waiting == 1

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
        return DeclarativeSqlAdapter(CRM_MAPPING, self.location(tmp_path, "crm"), clock=clock)

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


class SdkSystem:
    """What the suite drives: the sweep's view of the SDK system (retention_scan over the wire), and the system's
    own store beside it for the suite's export and erase."""

    def __init__(self, inner: MemoryAdapter, scanner: BackOfficeScan) -> None:
        self.inner, self.scanner = inner, scanner
        self.name, self.capabilities = scanner.name, scanner.capabilities
        self.retention_scan, self.export, self.erase = scanner.retention_scan, inner.export, inner.erase


def sdk_system(inner: MemoryAdapter, tmp_path: Path, scans: bool = True, page_size: int = 500) -> SdkSystem:
    seals = PipelineSeals()
    office = BackOffice(inner.name, api=seals, state_dir=tmp_path, register=REGISTER)
    if scans:
        office.handles("retention_scan")(inner.retention_scan)
    scanner = BackOfficeScan(inner.name, Loopback(office), seals.open, timeout=5, page_size=page_size)
    return SdkSystem(inner, scanner)


class TestBackOfficeSdkSystem(RetentionScanContract):
    """A system served by the back-office SDK, whose own adapter scans: the sweep asks on its task topic and
    reads the answer's pages (tests/integration/test_retention_sdk.py does it on real Kafka)."""

    def make_adapter(self, tmp_path, clock):
        return sdk_system(MemoryAdapter("crm"), tmp_path)

    def put_person(self, adapter, subject, clock):
        TestMemoryTwin.put_person(self, adapter.inner, subject, clock)

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
