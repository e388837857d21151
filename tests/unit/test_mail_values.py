"""The e-mails' values come from the mail room alone: any ValueSources will do, no stream context needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from dsr.register import load_register
from gdpr.commands import SendEmail
from mail.sources import ValueSources
from mail.values import VALUES
from schemas.intake import Right
from schemas.notifications import MessageType
from streams.register_view import RegisterView
from tests.unit.messages import CUSTOMER, T0, context, opened

pytestmark = pytest.mark.unit


@dataclass
class PlainSources:
    """A ValueSources written by hand: links say what they were made of, records are given as they are."""

    status_ttl: timedelta = timedelta(days=1)
    verification_ttl: timedelta = timedelta(days=2)
    verification_expiry: timedelta = timedelta(days=3)
    download_ttl: timedelta = timedelta(days=4)
    register: RegisterView = field(default_factory=lambda: RegisterView(load_register()))
    records: dict = field(default_factory=lambda: CUSTOMER)

    def open(self, sealed) -> dict:
        raise AssertionError("nothing sealed to open here")

    def case_link(self, request_id: str, purpose: str, expires: datetime, token_id: str | None = None) -> str:
        return f"link:{purpose}:{expires.date()}:{token_id}"

    def form_link(self, form: str) -> str:
        return f"form:{form}"

    def person_records(self, state) -> dict:
        return self.records

    def selected_records(self, state) -> dict:
        return self.records


def values(message_type: MessageType, right: Right = Right.ACCESS) -> tuple[dict, dict]:
    sources: ValueSources = PlainSources()
    state = opened(context(), right)
    return VALUES[message_type](sources, state, SendEmail("email:x", message_type, "subject"), T0)


def test_the_receipt_links_to_the_status_page_for_as_long_as_the_sources_say():
    _, secret = values(MessageType.RECEIPT)
    assert secret == {"status_url": f"link:status:{(T0 + timedelta(days=1)).date()}:None"}


def test_the_access_outcome_describes_the_records_the_sources_hold():
    # Art. 15(1), R22: the information is about this person's own records, sealed with the download link
    public, secret = values(MessageType.OUTCOME_ACCESS)
    assert public["download_expires_on"] == (T0 + timedelta(days=4)).date().isoformat()
    assert secret["download_url"] == f"link:download:{(T0 + timedelta(days=4)).date()}:package"
    assert secret["information"] == PlainSources().register.access_information(["crm", "newsletter"], CUSTOMER)


def test_a_missing_death_proof_points_to_the_form_the_sources_name():
    public, _ = values(MessageType.DEATH_PROOF_MISSING, Right.POST_MORTEM)
    assert public["report_url"] == "form:death"
