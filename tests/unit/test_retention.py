"""Retention end dates per rule of the packaged register: kept the day before, due the day after (R44, §5)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from dsr.register import load_register
from gdpr.retention import (
    INITIATOR,
    ContactKind,
    Initiator,
    accounting_end,
    financial_year_close,
    is_due,
    retention_end,
)
from handlers.protocol import Subject
from handlers.reference.crm import CrmAdapter

pytestmark = pytest.mark.unit

REGISTER = load_register()
DAY = timedelta(days=1)

PROSPECT = {"person": [{"created_at": "2026-03-02T09:00:00+00:00", "last_contact_at": "2026-03-02T09:00:00+00:00"}]}
CUSTOMER = PROSPECT | {"invoices": [{"issued_at": "2026-05-02", "paid_at": "2026-05-20"}]}
ARCHIVE = {"archived_invoices": [{"issued_at": "2026-05-02", "paid_at": "2026-05-20"}]}


def candidate(kind: str, pool: bool, ended: str | None = None) -> dict:
    row = {"candidate_kind": kind, "talent_pool_consent": pool, "last_contact_at": "2026-01-15T11:00:00+00:00"}
    return {"candidate": [row | ({"process_ended_at": ended} if ended else {})]}


# (rule, category, the person's records, the end date the rule gives them)
CASES = [
    ("crm_contact", "person", PROSPECT, "2029-03-02"),  # §5 row 5: prospect, created + 3 years
    ("crm_contact", "person", CUSTOMER, "2030-05-20"),  # §5 row 6: active customer, last payment + 4 years
    ("marketing_3y", "consents", CUSTOMER | {"consents": [{"channel": "post"}]}, "2029-05-20"),  # payment + 3 years
    ("invoices_active", "invoices", CUSTOMER, "2030-05-20"),  # then archived
    ("accounting_10y", "archived_invoices", ARCHIVE, "2036-12-31"),  # L123-22: close of FY 2026 + 10 years
    ("candidate", "candidate", candidate("employee", False, "2026-02-01"), "2026-05-01"),  # end of process + 3 months
    ("candidate", "candidate", candidate("employee", True), "2028-01-15"),  # talent pool: last contact + 2 years
    ("candidate", "candidate", candidate("franchisee", False), "2028-01-15"),  # franchisee: last contact + 2 years
    ("newsletter_3y", "subscription", {"subscription": [{"subscribed_at": "2026-04-01"}]}, "2029-04-01"),
    ("suppression_3y", "suppression_entry", {"suppression_entry": [{"added_at": "2026-04-01"}]}, "2029-04-01"),
    ("rights_case_5y", "rights_cases", {"rights_cases": [{"closed_at": "2026-07-10"}]}, "2031-07-10"),  # R51
    ("cookies_13m", "cookies", {"cookies": [{"deposited_at": "2026-01-31"}]}, "2027-02-28"),  # §5 row 8
    ("analytics_25m", "analytics", {"analytics": [{"collected_at": "2026-01-10"}]}, "2028-02-10"),
    ("connection_logs_1y", "connection_logs", {"connection_logs": [{"logged_at": "2026-08-11"}]}, "2027-08-11"),
    ("directives_until_revoked", "directives", {"directives": [{"revoked_at": "2026-09-01"}]}, "2026-09-01"),
]


@pytest.mark.parametrize(("rule", "category", "records", "end"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_each_rule_keeps_the_data_the_day_before_its_end_and_lets_them_go_the_day_after(rule, category, records, end):
    rule = REGISTER.retention_rules[rule]
    last_day = date.fromisoformat(end)
    assert retention_end(rule, records, category) == last_day
    assert not is_due(rule, records, category, last_day - DAY)  # kept
    assert not is_due(rule, records, category, last_day)  # kept through its end date
    assert is_due(rule, records, category, last_day + DAY)  # due: erased, anonymised or archived


def test_every_rule_of_the_register_is_exercised():
    assert {case[0] for case in CASES} == set(REGISTER.retention_rules)


def test_a_clock_that_cannot_be_dated_is_never_due():
    # An employee candidate whose process has not ended: the answer quotes the rule, the sweep waits.
    rule = REGISTER.retention_rules["candidate"]
    records = candidate("employee", False)
    assert retention_end(rule, records, "candidate") is None
    assert not is_due(rule, records, "candidate", date(2099, 1, 1))


# --- The prospect's 3-year clock (§5 row 5, CNIL-COM) ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "initiator"),
    [
        (ContactKind.EMAIL_RECEIVED, Initiator.PERSON),
        (ContactKind.FORM_SUBMITTED, Initiator.PERSON),
        (ContactKind.CALL_RECEIVED, Initiator.PERSON),
        (ContactKind.LINK_CLICKED, Initiator.PERSON),
        (ContactKind.POSITIVE_ANSWER, Initiator.PERSON),
        (ContactKind.CALL_MADE, Initiator.COMPANY),
        (ContactKind.EMAIL_OPENED, Initiator.COMPANY),
        (ContactKind.EMAIL_SENT, Initiator.COMPANY),
    ],
)
def test_who_initiated_each_kind_of_contact(kind, initiator):
    assert INITIATOR[kind] is initiator


def crm_on(day: str) -> CrmAdapter:
    return CrmAdapter(":memory:", clock=lambda: datetime.fromisoformat(day).replace(tzinfo=UTC))


def prospect_end(crm: CrmAdapter, who: Subject) -> date | None:
    return retention_end(REGISTER.retention_rules["crm_contact"], crm.export(who).records, "person")


def a_prospect(day: str = "2026-03-02T09:00:00") -> tuple[CrmAdapter, Subject]:
    # Paul asks for a quote on 2 March 2026: his file runs to 2 March 2029.
    crm, paul = crm_on(day), Subject(email="paul@ex.fr")
    crm.record_submission("q-1", "dsr.form.quote_requested", paul, {"first_name": "Paul", "service": "jardinage"})
    return crm, paul


def test_the_clock_restarts_on_a_contact_the_prospect_initiated():
    crm, paul = a_prospect()
    assert prospect_end(crm, paul) == date(2029, 3, 2)
    # In 2028 he writes to us by e-mail: three more years from that e-mail.
    crm.add_contact_event(paul.email, ContactKind.EMAIL_RECEIVED, at="2028-11-20T10:00:00+00:00")
    assert prospect_end(crm, paul) == date(2031, 11, 20)
    rule = REGISTER.retention_rules["crm_contact"]
    assert not is_due(rule, crm.export(paul).records, "person", date(2029, 3, 3))  # no longer due in 2029


def test_the_clock_does_not_restart_on_our_outgoing_call_nor_on_an_e_mail_open():
    crm, paul = a_prospect()
    crm.add_call_note(paul.email, "Relance, pas de réponse.", "outbound", called_at="2028-06-01T10:00:00+00:00")
    crm.add_contact_event(paul.email, ContactKind.CALL_MADE, at="2028-06-01T10:00:00+00:00")
    crm.add_contact_event(paul.email, ContactKind.EMAIL_OPENED, at="2028-09-01T10:00:00+00:00")
    assert prospect_end(crm, paul) == date(2029, 3, 2)
    rule = REGISTER.retention_rules["crm_contact"]
    assert is_due(rule, crm.export(paul).records, "person", date(2029, 3, 3))


def test_a_click_or_a_yes_given_during_our_call_restarts_it():
    crm, paul = a_prospect()
    crm.add_contact_event(paul.email, ContactKind.LINK_CLICKED, at="2027-05-04T10:00:00+00:00")
    assert prospect_end(crm, paul) == date(2030, 5, 4)
    note = "Souhaite continuer à recevoir nos offres."
    crm.add_call_note(paul.email, note, "outbound", called_at="2029-01-10T10:00:00+00:00", positive_answer=True)
    assert prospect_end(crm, paul) == date(2032, 1, 10)


# --- Accounting: from the close of the financial year (Code de commerce L123-22) --------------------


def test_invoices_run_from_the_close_of_their_financial_year_not_from_their_date():
    assert financial_year_close(date(2026, 5, 2)) == date(2026, 12, 31)
    assert financial_year_close(date(2026, 12, 31)) == date(2026, 12, 31)
    assert financial_year_close(date(2026, 7, 1), "06-30") == date(2027, 6, 30)
    assert accounting_end(date(2026, 1, 2)) == accounting_end(date(2026, 12, 30)) == date(2036, 12, 31)


def test_the_crm_archives_an_erased_customers_invoice_to_the_close_of_its_year_plus_ten():
    crm, paul = a_prospect()
    crm.add_invoice(paul.email, "F-2026-0007", 12000, "2026-05-02", paid_at="2026-05-20")
    [kept] = crm.erase(paul).kept
    assert kept.until == "2036-12-31"
