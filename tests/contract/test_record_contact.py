"""The re-contact loop on the reference CRM (SQLite here, PostgreSQL in the subclass): asked once before the end,
a yes recorded through `record_contact` restarts the clock, silence lets the sweep erase (CNIL-COM, §5 row 5)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from dsr.recontact import AskedStore, Mailing, find, send
from dsr.retention import RetentionStore, Sweep, plan_of, run_sweep, scan
from gdpr.recontact import verify_link
from gdpr.retention import ContactKind
from gdpr.ropa import retention_dates
from handlers.protocol import Subject
from handlers.reference import CrmAdapter
from handlers.runtime import run_task
from schemas.tasks import TaskAction, TaskStatus
from streams.ports import MemoryKeyVault
from streams.sealing import Sealer
from streams.web.keep import yes_tasks
from tests.contract.stores import OnPostgres, OnSqlite
from tests.contract.test_adapters import quote
from tests.contract.test_retention_scan import REGISTER, Stamp
from tests.contract.test_retention_sweep import ExecutingSink

pytestmark = pytest.mark.contract

SECRET = b"record-contact-test-secret-0123456789"
YES = Subject(email="ines.yes@example.test")
SILENT = Subject(email="paul.silent@example.test")


class MailingSink(ExecutingSink):
    """Runs the tasks on the CRM at once and keeps the e-mails requested."""

    def __init__(self, systems: dict, sealer: Sealer) -> None:
        super().__init__(systems, sealer)
        self.emails = []

    def notify(self, request):
        self.emails.append(request)


class RecontactLoop(OnSqlite):
    @pytest.fixture
    def clock(self):
        return Stamp()

    @pytest.fixture
    def crm(self, tmp_path, clock):
        crm = CrmAdapter(self.location(tmp_path, "crm"), clock=clock)
        for person in (YES, SILENT):
            crm.record_submission(f"quote-{person.email}", "dsr.form.quote_requested", person, quote(person.email))
        yield crm
        crm.close()

    def end(self, crm, person: Subject) -> date:
        dated = retention_dates(REGISTER, "crm", crm.export(person).records)
        return max(date.fromisoformat(e["until"]) for e in dated if e["until"])

    def test_the_crm_declares_record_contact(self, crm):
        assert TaskAction.RECORD_CONTACT in crm.capabilities.actions

    def test_a_yes_restarts_the_clock_and_silence_lets_the_sweep_erase(self, crm, tmp_path):
        old_end = self.end(crm, YES)
        today = old_end - timedelta(days=10)
        sealer = Sealer(MemoryKeyVault(), SECRET)
        # Ten days before their end, both are asked, once.
        recontact = find([crm], REGISTER, SECRET, today, 30, {})
        assert sorted(recontact.emails.values()) == sorted([YES.email, SILENT.email])
        store, sink = AskedStore(tmp_path), MailingSink({"crm": crm}, sealer)
        asked_at = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
        send(recontact, Mailing(sealer.seal, SECRET, "http://dsr.test", lambda: asked_at), sink, store)
        assert find([crm], REGISTER, SECRET, today, 30, store.asked()).asks == []  # nobody a second time
        # Ines opens her link three days later and says yes: the CRM records a contact from her.
        answered_at = asked_at + timedelta(days=3)
        (mail,) = [m for m in sink.emails if sealer.open(m.to)["email"] == YES.email]
        link = verify_link(SECRET, sealer.open(mail.sealed_context)["keep_url"].rsplit("/", 1)[1], answered_at)
        for task in yes_tasks(link, sealer.address, answered_at):
            result = asyncio.run(run_task(crm, task, sealer.open, sealer.seal_existing, attempts=1))
            assert result.status is TaskStatus.DONE, result.error
        assert self.end(crm, YES) == date(answered_at.year + 3, answered_at.month, answered_at.day)
        # The day after the old end, the sweep erases Paul, who stayed silent, and keeps Ines.
        as_of = old_end + timedelta(days=1)
        scanned = scan([crm], REGISTER, SECRET, as_of)
        sweep = Sweep(
            plan_of(scanned, as_of),
            scanned.emails,
            REGISTER,
            seal=lambda ref, value, system, lease=None: sealer.seal(ref, value, audience=system, lease=lease),
            clock=lambda: answered_at,
        )
        run_sweep(sweep, sink, RetentionStore(tmp_path / "sweep"))
        assert crm.lookup(YES).holds_data and not crm.lookup(SILENT).holds_data

    def test_who_objected_to_marketing_or_is_restricted_is_not_asked(self, crm, tmp_path):
        today = self.end(crm, YES) - timedelta(days=10)
        crm.suppress_marketing(YES, ("email",), source="objection")  # Art. 21(3)
        crm.restrict(SILENT, "accuracy_contested")  # Art. 18(2): storage only
        recontact = find([crm], REGISTER, SECRET, today, 30, {})
        assert (recontact.asks, recontact.skipped) == ([], 2)

    @pytest.mark.parametrize("kind", [ContactKind.CALL_MADE, ContactKind.EMAIL_OPENED, "nonsense"])
    def test_only_contacts_from_the_person_are_recorded(self, crm, kind):
        from handlers.protocol import InvalidTask

        with pytest.raises(InvalidTask):
            crm.record_contact(YES, kind, datetime(2024, 1, 1, tzinfo=UTC))

    def test_nothing_is_created_for_someone_not_on_file(self, crm):
        stranger = Subject(email="nobody@example.test")
        assert crm.record_contact(stranger, ContactKind.KEEP_INFORMED, datetime(2024, 1, 1, tzinfo=UTC)) == 0
        assert not crm.lookup(stranger).holds_data


class TestRecontactLoop(RecontactLoop):
    pass


class TestRecontactLoopOnPostgres(OnPostgres, RecontactLoop):
    pass
