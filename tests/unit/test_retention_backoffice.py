"""The retention scan of a back-office SDK system without Kafka: the SDK's pages, the sweep's collection (R44)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from dsr.register import load_register
from dsr.retention import plan_of, scan
from dsr.retention_backoffice import BackOfficeScan, Collected, scan_result
from dsr.retention_cli import _text
from gdpr.sweep import SystemStatus
from handlers.memory import MemoryAdapter
from handlers.protocol import DueRecord, RetentionScan, SystemUnanswered
from handlers.sdk import BackOffice
from handlers.sdk_ports import PipelineUnavailable
from schemas.scans import RetentionScanPage, RetentionScanRequest, ScanStatus, SealedSubject
from schemas.sealed import Sealed
from tests.unit.test_backoffice_sdk import FakeKafka, message

pytestmark = pytest.mark.unit

REGISTER = load_register(None)
AS_OF = date(2031, 1, 1)


def due(n: int) -> tuple[DueRecord, ...]:
    return tuple(
        DueRecord(f"p{i}@example.test", "customer", "crm_contact", "delete", date(2030, 1, 1)) for i in range(n)
    )


class SealingApi:
    """POST /api/retention/subjects with the tests' convention: the ref is the address reversed, 'sealed' as JSON."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls, self.fail_on_call = [], fail_on_call

    def seal_subjects(self, system: str, emails: list[str]) -> list[SealedSubject]:
        self.calls.append(list(emails))
        if len(self.calls) == self.fail_on_call:
            raise PipelineUnavailable("/api/retention/subjects answered 503")
        return [SealedSubject(subject_ref=e[::-1], subject=_sealed(e[::-1], e)) for e in emails]


def _sealed(ref: str, email: str) -> Sealed:
    return Sealed(subject_ref=ref, nonce="n", ciphertext=json.dumps({"email": email}))


def opened(sealed: Sealed) -> str:
    return json.loads(sealed.ciphertext)["email"]


def request(page_size: int = 2, system: str = "billing") -> RetentionScanRequest:
    issued = datetime(2031, 1, 1, 3, 0, tzinfo=UTC)
    return RetentionScanRequest(
        message="retention_scan", scan_id="scan-1", system=system, as_of=AS_OF, page_size=page_size, issued_at=issued
    )


def office_scanning(tmp_path, found=None, api=None) -> BackOffice:
    office = BackOffice("billing", api=api or SealingApi(), state_dir=tmp_path, register=REGISTER)
    if found is not None:
        office.handles("retention_scan")(found)
    return office


def pages_of(kafka: FakeKafka) -> list[RetentionScanPage]:
    return [RetentionScanPage.model_validate_json(m.value) for m in kafka.on("dsr.retention-scans")]


def served(office: BackOffice, *values: bytes) -> FakeKafka:
    kafka = FakeKafka()
    for offset, value in enumerate(values):
        office.serve(message(value, offset), kafka, kafka)
    return kafka


def test_the_sdk_answers_in_bounded_pages_keyed_by_scan_id_then_commits(tmp_path):
    api = SealingApi()
    office = office_scanning(tmp_path, lambda as_of, register: RetentionScan(due=due(5), waiting=3), api)
    kafka = served(office, request().to_bytes())
    pages = pages_of(kafka)
    assert [(p.page, len(p.due), p.last, p.status) for p in pages] == [
        (1, 2, False, ScanStatus.DONE),
        (2, 2, False, ScanStatus.DONE),
        (3, 1, True, ScanStatus.DONE),
    ]
    assert (pages[-1].pages, pages[-1].people, pages[-1].waiting) == (3, 5, 3)
    assert {m.key for m in kafka.on("dsr.retention-scans")} == {b"scan-1"}
    assert [len(call) for call in api.calls] == [2, 2, 1]  # one seal call per page
    assert kafka.commits == [{0: 1}] and not kafka.on("dsr.task-results")


def test_a_person_with_several_categories_is_one_entry(tmp_path):
    records = (*due(1), DueRecord("P0@example.test", "invoices", "accounting_10y", "delete", date(2030, 6, 1), 4))
    office = office_scanning(tmp_path, lambda as_of, register: RetentionScan(due=records))
    [page] = pages_of(served(office, request().to_bytes()))
    [person] = page.due
    assert [(c.category, c.count) for c in person.categories] == [("customer", 1), ("invoices", 4)]


def test_nothing_due_is_one_last_page_with_no_one(tmp_path):
    office = office_scanning(tmp_path, lambda as_of, register: RetentionScan(waiting=2))
    [page] = pages_of(served(office, request().to_bytes()))
    assert (page.page, page.last, page.pages, page.people, page.waiting, page.due) == (1, True, 1, 0, 2, [])


def test_a_system_without_a_scan_handler_answers_unsupported(tmp_path):
    [page] = pages_of(served(office_scanning(tmp_path), request().to_bytes()))
    assert page.status is ScanStatus.UNSUPPORTED and page.last and "billing" in page.error


def test_a_scan_that_breaks_answers_failed_and_the_next_task_is_served(tmp_path):
    def broken(as_of, register):
        raise OSError("disk gone for camille@example.test")

    kafka = served(office_scanning(tmp_path, broken), request().to_bytes(), request().to_bytes())
    pages = pages_of(kafka)
    assert [p.status for p in pages] == [ScanStatus.FAILED, ScanStatus.FAILED]
    assert pages[0].error == "OSError in the system's retention scan"  # the type only: no personal data
    assert kafka.commits == [{0: 1}, {0: 2}]


def test_the_pipeline_down_while_sealing_ends_the_answer_with_a_failed_page(tmp_path):
    office = office_scanning(tmp_path, lambda as_of, register: RetentionScan(due=due(5)), SealingApi(fail_on_call=2))
    pages = pages_of(served(office, request().to_bytes()))
    assert [(p.page, p.status, p.last) for p in pages] == [(1, ScanStatus.DONE, False), (2, ScanStatus.FAILED, True)]
    assert "PipelineUnavailable" in pages[-1].error


@pytest.mark.parametrize(
    "value, why",
    [
        (json.dumps({"message": "retention_scan", "scan_id": "s"}).encode(), "invalid retention scan request"),
        (request(system="crm").to_bytes(), "retention scan for system 'crm'"),
    ],
)
def test_a_bad_scan_request_is_dead_lettered(tmp_path, value, why):
    kafka = served(office_scanning(tmp_path, lambda as_of, register: RetentionScan()), value)
    [dead] = kafka.on("dsr.tasks.billing.dlq")
    assert dead.headers["dsr-dlq-reason"].decode().startswith(why) and not kafka.on("dsr.retention-scans")
    assert kafka.commits == [{0: 1}]


def test_an_sdk_older_than_the_scan_dead_letters_the_request_as_an_invalid_task(tmp_path):
    # Before the scan, `serve` went straight to `answer`: the request is no Task, so it is dead-lettered and
    # committed, and the consumer serves the next task; the sweep, hearing nothing, lists the system unanswered.
    outcome = office_scanning(tmp_path).answer(request().to_bytes())
    assert outcome.result is None and outcome.dead_letter.startswith("invalid task: ")


def test_a_scan_handler_needs_the_register(tmp_path):
    with pytest.raises(ValueError, match="register"):
        BackOffice("billing", api=SealingApi(), state_dir=tmp_path).handles("retention_scan")


# --- the sweep's side ---------------------------------------------------------------------------


class Replay:
    """A transport that answers each request with the pages of an SDK (or nothing), some of them twice."""

    def __init__(self, pages: list[RetentionScanPage], echo: bool = False) -> None:
        self.answer, self.asked, self.echo = pages, [], echo

    def ask(self, request: RetentionScanRequest) -> None:
        self.asked.append(request)

    def pages(self, scan_id: str, wait: float) -> list[RetentionScanPage]:
        out = [p.model_copy(update={"scan_id": scan_id}) for p in self.answer]
        if not self.echo:
            self.answer = []
        return out


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def sdk_pages(tmp_path, n: int, page_size: int = 2) -> list[RetentionScanPage]:
    office = office_scanning(tmp_path, lambda as_of, register: RetentionScan(due=due(n)))
    return pages_of(served(office, request(page_size).to_bytes()))


def test_the_sweep_collects_every_page_once_and_opens_the_addresses_in_process(tmp_path):
    pages = sdk_pages(tmp_path, 5)
    transport = Replay([pages[2], pages[0], pages[0], pages[1]])  # out of order, one twice
    found = BackOfficeScan("billing", transport, opened, timeout=5).retention_scan(AS_OF, REGISTER)
    assert sorted(d.email for d in found.due) == [f"p{i}@example.test" for i in range(5)]
    [asked] = transport.asked
    assert (asked.system, asked.as_of, asked.message, asked.page_size) == ("billing", AS_OF, "retention_scan", 500)


def test_a_silent_system_is_unanswered_naming_it_never_an_empty_scan(tmp_path):
    scanner = BackOfficeScan("billing", Replay([]), opened, timeout=5, clock=Ticks())
    scanned = scan([scanner], REGISTER, b"k" * 32, AS_OF)
    assert scanned.due == [] and scanned.unsupported == []
    assert "system 'billing' did not answer the retention scan within 5 s (no answer)" in scanned.unanswered["billing"]


def test_a_missing_page_is_waited_for_then_named(tmp_path):
    pages = sdk_pages(tmp_path, 5)
    scanner = BackOfficeScan("billing", Replay([pages[0], pages[2]]), opened, timeout=5, clock=Ticks())
    with pytest.raises(SystemUnanswered, match=r"billing.*2 page\(s\), then nothing"):
        scanner.retention_scan(AS_OF, REGISTER)


def test_a_failed_scan_is_unanswered_with_the_system_s_reason(tmp_path):
    office = office_scanning(tmp_path, lambda as_of, register: 1 / 0)
    scanner = BackOfficeScan("billing", Replay(pages_of(served(office, request().to_bytes()))), opened, timeout=5)
    scanned = scan([scanner], REGISTER, b"k" * 32, AS_OF)
    assert scanned.unanswered == {
        "billing": "system 'billing' could not scan: ZeroDivisionError in the system's retention scan"
    }


def test_a_subject_whose_key_is_gone_is_skipped(tmp_path):
    collected = Collected("billing")
    for page in sdk_pages(tmp_path, 3, page_size=5):
        collected.add(page)
    found = scan_result(collected, lambda sealed: None if opened(sealed) == "p1@example.test" else opened(sealed))
    assert sorted(d.email for d in found.due) == ["p0@example.test", "p2@example.test"]


def test_a_page_whose_ref_does_not_match_its_seal_is_refused(tmp_path):
    [page] = sdk_pages(tmp_path, 1)
    forged = page.model_copy(update={"due": [page.due[0].model_copy(update={"subject_ref": "someone-else"})]})
    collected = Collected("billing")
    collected.add(forged)
    with pytest.raises(SystemUnanswered, match="does not match"):
        scan_result(collected, opened)


def test_the_plan_lists_an_unanswered_system_with_its_reason():
    scanned = scan([MemoryAdapter("crm")], REGISTER, b"k" * 32, AS_OF)
    scanned.unanswered["billing"] = "system 'billing' did not answer the retention scan within 60 s (no answer)"
    plan = plan_of(scanned, AS_OF)
    [row] = [r for r in plan.rows if r.system == "billing"]
    assert row.status is SystemStatus.UNANSWERED and row.reason.startswith("system 'billing'")
    assert row.to_json()["status"] == "unanswered"
    assert any(line.startswith("  billing: unanswered, not swept: system 'billing'") for line in _text(plan, "x"))


class Unsupporting:
    """A Kafka transport stand-in whose every system answers at once that it does not scan."""

    asked: list[str] = []

    def __init__(self, bootstrap, security=None) -> None:
        self.answers = []

    def ask(self, request: RetentionScanRequest) -> None:
        Unsupporting.asked.append(request.system)
        self.answers.append(
            RetentionScanPage(
                scan_id=request.scan_id,
                system=request.system,
                as_of=request.as_of,
                status=ScanStatus.UNSUPPORTED,
                page=1,
                last=True,
                error="no handler",
                answered_at=datetime.now(UTC),
            )
        )

    def pages(self, scan_id: str, wait: float) -> list[RetentionScanPage]:
        return [p for p in self.answers if p.scan_id == scan_id]

    def close(self) -> None:
        pass


def test_only_the_systems_named_for_scans_are_sent_a_scan_request(tmp_path, monkeypatch):
    from dsr import retention_kafka
    from dsr.retention_cli import Shell

    env = {"DSR_DATA_DIR": str(tmp_path), "DSR_SECRET_KEY": "s" * 40, "DSR_SYSTEMS": "crm,billing,ledger"}
    env |= {
        "DSR_BUILTIN_ADAPTERS": "crm",
        "DSR_RETENTION_SCAN_SYSTEMS": "billing",
        "DSR_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(retention_kafka, "KafkaScanTransport", Unsupporting)
    Unsupporting.asked = []
    plan, _ = Shell.load().plan(AS_OF, (), None)
    assert Unsupporting.asked == ["billing"]  # ledger, maybe a hand-written consumer, is never sent one
    statuses = {r.system: r.status for r in plan.rows if r.system in ("billing", "ledger")}
    assert statuses == {"billing": SystemStatus.UNSUPPORTED, "ledger": SystemStatus.UNSUPPORTED}


class Purging(Unsupporting):
    """An SDK system whose fingerprints past their end it purges itself: counted by its scan, deleted on request."""

    def ask(self, request: RetentionScanRequest) -> None:
        Unsupporting.asked.append(request.message)
        purge = request.message == "purge_expired"
        unkeyed = [{"category": "suppression_entry", "rule": "suppression_3y", "action": "delete"}]
        unkeyed[0] |= {"end_date": date(2029, 3, 1), "last_end_date": date(2029, 6, 1), "count": 3}
        answer = {"purged": 3} if purge else {"unkeyed": unkeyed, "waiting": 0}
        self.answers.append(
            RetentionScanPage(
                scan_id=request.scan_id,
                system=request.system,
                as_of=request.as_of,
                status=ScanStatus.DONE,
                page=1,
                last=True,
                pages=1,
                people=0,
                answered_at=datetime.now(UTC),
                **answer,
            )
        )


def test_run_has_an_sdk_system_purge_the_records_of_no_one_its_scan_counted(tmp_path, monkeypatch):
    # R44, R45: the SDK system's scan counts 3 fingerprints past their end; `dsr retention run` asks it to purge them.
    from dsr import retention_kafka
    from dsr.retention_cli import Shell, carry_out

    env = {"DSR_DATA_DIR": str(tmp_path), "DSR_SECRET_KEY": "s" * 40, "DSR_SYSTEMS": "billing"}
    env |= {"DSR_BUILTIN_ADAPTERS": "", "DSR_RETENTION_SCAN_SYSTEMS": "billing", "DSR_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(retention_kafka, "KafkaScanTransport", Purging)
    Unsupporting.asked = []
    sink = RecordingSink()
    outcome = carry_out(Shell.load(), AS_OF, (), lambda: sink)
    assert [(p.system, p.rule, p.count) for p in outcome.plan.purges] == [("billing", "suppression_3y", 3)]
    assert Unsupporting.asked == ["retention_scan", "purge_expired"]  # the plan's scan, then the purge
    (purged,) = [a for a in sink.audits if a.kind == "retention_unkeyed_purged"]
    assert (purged.detail["system"], purged.detail["purged"]) == ("billing", 3)


class RecordingSink:
    def __init__(self) -> None:
        self.audits = []

    def task(self, task):
        raise AssertionError("no one to erase")

    def audit(self, record):
        self.audits.append(record)

    def notify(self, request):
        pass

    def flush(self):
        pass

    def close(self):
        pass
