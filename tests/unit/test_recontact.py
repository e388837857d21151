"""The prospect's one re-contact before their end (CNIL-COM, LEGAL §5 row 5): who is asked, when, once; the link."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from dsr.recontact import AskedStore, Mailing, Recontact, language_of, may_ask, send
from dsr.register import load_register
from dsr.retention_cli import Shell, carry_out
from gdpr.deadlines import PARIS
from gdpr.recontact import Ask, KeepLink, sign_link, still_useful, to_ask, verify_link
from gdpr.sweep import Due
from gdpr.tokens import Token, TokenError, sign_token
from handlers.protocol import Subject
from handlers.reference import CrmAdapter
from schemas.notifications import MessageType, Recipient
from schemas.sealed import Sealed
from streams.ports import MemoryKeyVault
from streams.sealing import Sealer

pytestmark = pytest.mark.unit

TODAY = date(2027, 3, 8)
DAYS = 30
RULES = {"crm_contact"}
SYSTEMS = {"crm"}
SECRET = b"recontact-test-secret-0123456789abcdef"


def due(ref: str, end: date, system: str = "crm", category: str = "person", rule: str = "crm_contact") -> Due:
    return Due(system, ref, category, rule, "delete", end)


def asks(entries, asked=None, days: int = DAYS, today: date = TODAY) -> list[tuple[str, tuple[str, ...], date]]:
    found = to_ask(entries, today, days, RULES, SYSTEMS, asked or {})
    return [(a.subject_ref, a.systems, a.end_date) for a in found]


def test_a_prospect_whose_end_falls_within_the_window_is_asked():
    in_ten_days = TODAY + timedelta(days=10)
    assert asks([due("a", in_ten_days)]) == [("a", ("crm",), in_ten_days)]


@pytest.mark.parametrize(
    ("end", "asked"),
    [
        (TODAY, False),  # kept through today, swept tomorrow: less than a day to answer (asked on an earlier day)
        (TODAY - timedelta(days=3), False),  # already past its end
        (TODAY + timedelta(days=1), True),
        (TODAY + timedelta(days=DAYS), True),  # the last day of the window
        (TODAY + timedelta(days=DAYS + 1), False),  # not yet: asked on a later day
    ],
)
def test_the_window_is_after_today_and_within_the_setting(end, asked):
    assert bool(asks([due("a", end)])) is asked


def test_off_when_the_setting_is_zero():
    assert asks([due("a", TODAY + timedelta(days=3))], days=0) == []


def test_only_rules_that_allow_it_and_systems_that_can_record_the_answer():
    end = TODAY + timedelta(days=5)
    assert asks([due("a", end, rule="candidate")]) == []  # a candidate is not a prospect
    assert asks([due("a", end, system="newsletter")]) == []  # no record_contact there: a yes would change nothing


def test_asked_once_per_end_and_again_only_once_their_own_contact_moved_it():
    end = TODAY + timedelta(days=10)
    assert asks([due("a", end)], asked={"a": end}) == []  # silence: never a second e-mail
    assert asks([due("a", end)], asked={"a": end + timedelta(days=2)}) == []
    # A yes (or any contact of theirs) restarted the clock: three years later, a new end, asked again.
    later = end + timedelta(days=3 * 365)
    assert asks([due("a", later)], asked={"a": end}, today=later - timedelta(days=10)) == [("a", ("crm",), later)]


def test_a_persons_end_in_a_system_is_their_last_categorys_and_one_ask_names_every_system():
    # One category past its end already, the last one ends in the window: the sweep erases them at that last end.
    entries = [
        due("a", TODAY - timedelta(days=40), category="consents", rule="marketing_3y"),
        due("a", TODAY + timedelta(days=12)),
    ]
    assert asks(entries) == [("a", ("crm",), TODAY + timedelta(days=12))]
    both = to_ask(
        [due("b", TODAY + timedelta(days=9)), due("b", TODAY + timedelta(days=4), system="shop")],
        TODAY,
        DAYS,
        RULES,
        {"crm", "shop"},
        {},
    )
    assert both == [Ask("b", ("crm", "shop"), TODAY + timedelta(days=4))]


def test_the_record_of_who_was_asked_forgets_ends_already_past():
    asked = {"a": TODAY - timedelta(days=1), "b": TODAY, "c": TODAY + timedelta(days=20)}
    assert still_useful(asked, TODAY) == {"b": TODAY, "c": TODAY + timedelta(days=20)}


def test_the_register_allows_the_recontact_on_the_crm_contact_rule_only():
    register = load_register(None)
    assert {rule_id for rule_id, rule in register.retention_rules.items() if rule.recontact} == {"crm_contact"}


# --- the link -------------------------------------------------------------------------------------

END = TODAY + timedelta(days=10)
LINK = KeepLink("ref-a", ("crm",), TODAY, END, "bm9uY2U", "Y2lwaGVy", "en")


def test_a_link_opens_until_the_end_of_its_end_date_in_paris():
    token = sign_link(SECRET, LINK)
    assert verify_link(SECRET, token, datetime(2027, 3, 18, 22, 59, tzinfo=UTC)) == LINK  # 23:59 in Paris
    with pytest.raises(TokenError, match="expired"):
        verify_link(SECRET, token, datetime(2027, 3, 18, 23, 0, tzinfo=UTC))  # midnight in Paris


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # a broken signature
        lambda t: sign_link(b"another-secret-0123456789abcdefghij", LINK),  # signed with another key
        lambda t: sign_token(SECRET, Token("keep", "ref-a", "t", datetime(2030, 1, 1, tzinfo=UTC))),  # another kind
        lambda t: "nothing-here",
        lambda t: t.split(".")[0] + ".é",
    ],
)
def test_a_forged_or_foreign_link_is_refused(forge):
    with pytest.raises(TokenError):
        verify_link(SECRET, forge(sign_link(SECRET, LINK)), datetime(2027, 3, 9, tzinfo=UTC))


# --- sending: one e-mail each, recorded, nothing personal in clear ---------------------------------


class Sink:
    def __init__(self) -> None:
        self.emails, self.audits, self.flushes = [], [], 0

    def notify(self, request):
        self.emails.append(request)

    def audit(self, record):
        self.audits.append(record)

    def flush(self):
        self.flushes += 1


def test_each_person_gets_one_sealed_email_in_their_language_and_is_recorded_as_asked(tmp_path):
    sealer = Sealer(MemoryKeyVault(), SECRET)
    people = [Ask("ref-a", ("crm",), END), Ask("ref-b", ("crm",), END + timedelta(days=1))]
    emails = {"ref-a": "a@example.test", "ref-b": "b@example.test"}
    recontact = Recontact(TODAY, DAYS, people, emails, {"ref-b": "en"})
    store, sink = AskedStore(tmp_path), Sink()
    now = datetime(2027, 3, 8, 3, 0, tzinfo=UTC)
    assert send(recontact, Mailing(sealer.seal, SECRET, "https://dsr.example", lambda: now), sink, store) == 2
    assert [(e.message_type, e.recipient, e.language) for e in sink.emails] == [
        (MessageType.RETENTION_RECONTACT, Recipient.SUBJECT, "fr"),
        (MessageType.RETENTION_RECONTACT, Recipient.SUBJECT, "en"),
    ]
    assert [sealer.open(e.to)["email"] for e in sink.emails] == ["a@example.test", "b@example.test"]
    assert all("@" not in e.model_dump_json(exclude={"to", "sealed_context"}) for e in sink.emails)
    url = sealer.open(sink.emails[1].sealed_context)["keep_url"]
    assert url.startswith("https://dsr.example/keep/")
    link = verify_link(SECRET, url.rsplit("/", 1)[1], now)
    assert (link.subject_ref, link.systems, link.end_date, link.language) == (
        "ref-b",
        ("crm",),
        people[1].end_date,
        "en",
    )
    assert sealer.open(link_sealed(link)) == {"email": "b@example.test", "name": ""}
    # The day's count in the audit, no one's address or reference; both recorded as asked about their end.
    (record,) = sink.audits
    assert record.kind == "retention_recontact_sent" and record.detail["people"] == 2
    assert "ref-a" not in record.model_dump_json() and "@" not in record.model_dump_json()
    assert store.asked() == {"ref-a": END, "ref-b": END + timedelta(days=1)}
    # The message id is per person and end: a resend after a crash is the same e-mail, which the mailer drops.
    again = Sink()
    send(recontact, Mailing(sealer.seal, SECRET, "https://dsr.example", lambda: now), again, store)
    assert [e.message_id for e in again.emails] == [e.message_id for e in sink.emails]


def link_sealed(link: KeepLink) -> Sealed:
    return Sealed(subject_ref=link.subject_ref, nonce=link.nonce, ciphertext=link.ciphertext)


# --- who must not be asked, and in which language ------------------------------------------------

PERSON = {"person": [{"email": "a@example.test", "created_at": "2024-03-18"}]}


@pytest.mark.parametrize(
    ("exports", "asked"),
    [
        ([PERSON], True),
        # A quote form's default "no" to e-mail marketing is not an objection: they may still be asked.
        ([PERSON | {"consents": [{"channel": "email", "granted": False, "source": "dsr.form.quote_requested"}]}], True),
        ([PERSON | {"consents": [{"channel": "email", "granted": False, "source": "objection"}]}], False),  # 21(3)
        ([PERSON, {"consents": [{"channel": "email", "granted": False, "source": "withdrawal"}]}], False),  # 7(3)
        # The latest choice counts: a later yes after an objection.
        (
            [
                {
                    "consents": [
                        {"channel": "email", "granted": False, "source": "objection"},
                        {"channel": "email", "granted": True},
                    ]
                }
            ],
            True,
        ),
        ([{"person": [{"email": "a@example.test", "_restriction": "accuracy_contested"}]}], False),  # Art. 18(2)
        ([PERSON, {"calls": [{"note": "x", "_restriction": "legal_hold:litige-7"}]}], False),  # R46
    ],
)
def test_nobody_restricted_or_who_refused_e_mail_marketing_is_asked(exports, asked):
    assert may_ask(exports) is asked


def test_the_language_is_the_one_a_system_records_else_french():
    assert language_of([PERSON]) == "fr"
    assert language_of([PERSON, {"subscription": [{"language": "en"}]}]) == "en"
    assert language_of([{"subscription": [{"language": "de"}]}]) == "fr"  # not one of ours


# --- the shell: `dsr retention run` and the clock (carry_out) --------------------------------------


class ShellSink(Sink):
    def task(self, task):
        raise AssertionError("nobody is due for erasure here")

    def close(self):
        pass

    def asked(self) -> list:
        return [e for e in self.emails if e.message_type is MessageType.RETENTION_RECONTACT]  # not the DPO's report


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    values = {"DSR_DATA_DIR": str(tmp_path), "DSR_SECRET_KEY": SECRET.decode(), "DSR_SYSTEMS": "crm"}
    for key, value in (values | {"DSR_BUILTIN_ADAPTERS": "crm"}).items():
        monkeypatch.setenv(key, value)
    # A prospect whose three years end in ten days.
    today = datetime.now(PARIS).date()
    created = datetime.combine(today.replace(year=today.year - 3) + timedelta(days=10), time(10), tzinfo=PARIS)
    (tmp_path / "systems").mkdir()
    crm = CrmAdapter(tmp_path / "systems" / "crm.sqlite3", clock=lambda: created)
    crm.record_submission("q-1", "dsr.form.quote_requested", Subject(email="lea@example.test"), {"service": "x"})
    crm.close()
    return tmp_path


def test_off_by_default(data_dir):
    sink = ShellSink()
    assert carry_out(Shell.load(), datetime.now(PARIS).date(), (), lambda: sink).asked is None
    assert sink.asked() == []


def test_a_prospect_whose_end_is_the_window_s_last_day_is_asked(data_dir, monkeypatch):
    # Kept through their end date and swept the day after: an end ten days away is within a ten-day window.
    monkeypatch.setenv("DSR_RETENTION_RECONTACT_DAYS", "10")
    today = datetime.now(PARIS).date()
    assert [a.end_date for a in Shell.load().recontact(today, ()).asks] == [today + timedelta(days=10)]


def test_asked_once_today_and_never_for_another_as_of(data_dir, monkeypatch):
    monkeypatch.setenv("DSR_RETENTION_RECONTACT_DAYS", "30")
    today, sink = datetime.now(PARIS).date(), ShellSink()
    # A DPO trying `dsr retention run --as-of` another day e-mails nobody: the e-mail states real dates.
    assert carry_out(Shell.load(), today - timedelta(days=5), (), lambda: sink).asked is None
    assert carry_out(Shell.load(), today, (), lambda: sink).asked == 1
    assert carry_out(Shell.load(), today, (), lambda: sink).asked == 0  # the next run (the clock tomorrow) too
    (email,) = sink.asked()
    assert json.loads((data_dir / "retention" / "recontact.json").read_text()) == {
        email.to.subject_ref: (today + timedelta(days=10)).isoformat()  # by subject_ref: no address at rest
    }
