"""The DPO's decisions through `dsr case`, end to end: extension (R10, GS-13) and fees for repeated
requests (R20, R21, GS-14). Refused decisions exit non-zero with the reason and are audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gdpr.deadlines import compute_deadline
from mail.templates import longdate
from tests.integration.pipeline import new_person
from tests.integration.rights_support import (
    audit_records,
    case_record,
    confirm,
    decided,
    dpo,
    message,
    messages,
    new_case,
    on_file_in_crm,
    quote,
    request,
    two_months_ago,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.integration
FACTS = "Second identical access request within days, no change to the data since the first copy."


def test_gs13_an_extension_within_the_first_month_tells_the_person_the_new_date(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name, language="en"))
    received = datetime.now(UTC)
    pipeline.publish(request(email, name, "access", language="en", submitted_time=received.isoformat()))
    ref = new_case(pipeline, email)
    # The data are spread across systems and processors: the DPO extends, with a reason from the list.
    assert "extend recorded" in decided(pipeline, "extend", ref, "--reason", "spread_across_systems")
    deadline = compute_deadline(received)
    notice = message(pipeline, email, ref, subject="More time needed to answer your request")
    assert f"New deadline: {longdate(deadline.d3, 'en')}" in notice.text  # §2.3 (b)
    assert f"Initial deadline: {longdate(deadline.d1, 'en')}" in notice.text
    assert "spread across several" in notice.text
    assert case_record(pipeline, ref)["deadline"] == deadline.d3.isoformat()


def test_gs13_an_extension_after_d1_is_refused_and_audited(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    # A letter received two months ago, entered only now: an objection to our follow-up (Art. 21(1)),
    # from the customer space (L0), waiting for the DPO to weigh it. D1 is behind us.
    submitted = two_months_ago()
    pipeline.publish(
        request(
            email,
            name,
            "objection",
            objection_scope="legitimate_interest",
            identity_assurance="authenticated",
            submitted_time=submitted,
        )
    )
    ref = new_case(pipeline, email)
    case = wait_for_status(pipeline, ref, "awaiting_decision")
    d1 = compute_deadline(datetime.fromisoformat(submitted)).d1
    refused = dpo(pipeline, "extend", ref, "--reason", "volume_of_data")
    assert refused.returncode != 0
    assert f"D1 was {d1.isoformat()}" in refused.stderr  # R10: blocked, with the reason
    # The refusal is an audited fact (R50), and the case and its deadline did not move.
    refusals = wait_until(
        lambda: [r for r in audit_records(pipeline, case["request_id"]) if r["kind"] == "dpo_decision_refused"],
        what="refusal audited",
    )
    assert refusals[0]["detail"]["kind"] == "extend" and "D1 was" in refusals[0]["detail"]["refused"]
    after = case_record(pipeline, ref)
    assert after["deadline"] == d1.isoformat() and not after["extended"]
    assert not [m for m in messages(pipeline, email, ref) if "prolongation" in m.subject.lower()]


def test_gs14_a_fee_for_a_repeated_request_is_noticed_first_and_holds_the_answer(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name, language="en"))
    pipeline.publish(request(email, name, "access", language="en"))
    first = new_case(pipeline, email)
    # A first request can never be flagged excessive: the first copy is always free (R19-R21).
    refused = dpo(pipeline, "flag-excessive", first, "--facts", FACTS, "--fee", "15")
    assert refused.returncode != 0 and "first copy is always free" in refused.stderr
    confirm(pipeline, email, first)
    message(pipeline, email, first, subject="Your copy of your personal data is ready", contains="/download/")
    # She asks again for the same copy: the DPO records the facts and asks a fee of 15 € for a further copy.
    pipeline.publish(request(email, name, "access", language="en"))
    second = new_case(pipeline, email, seen=(first,))
    decided(pipeline, "flag-excessive", second, "--facts", FACTS, "--fee", "15", "--further-copy")
    notice = message(pipeline, email, second, subject="A fee for your request")
    assert "€15.00" in notice.text and "withdraw your request" in notice.text  # amount, option to withdraw
    assert "further copy of the same data, for the same period" in " ".join(notice.text.split())  # R20
    assert "Until you agree, we are not sending you this further copy." in notice.text  # the answer is held
    assert "CNIL" in notice.text
    confirm(pipeline, email, second)
    wait_for_status(pipeline, second, "answering")
    # Nothing is delivered before she agrees and pays.
    assert not [m for m in messages(pipeline, email, second) if "/download/" in (m.text or "")]
    decided(pipeline, "fee-paid", second)
    message(pipeline, email, second, subject="Your copy of your personal data is ready", contains="/download/")


def test_gs14_a_request_a_year_after_the_previous_one_cannot_be_flagged(pipeline):
    email, name = new_person()
    # Her previous access request reached us 13 months ago (a letter); she asks again today.
    last_year = (datetime.now(UTC) - timedelta(days=395)).isoformat()
    pipeline.publish(request(email, name, "access", submitted_time=last_year))
    first = new_case(pipeline, email)
    pipeline.publish(request(email, name, "access"))
    second = new_case(pipeline, email, seen=(first,))
    refused = dpo(pipeline, "flag-excessive", second, "--facts", FACTS, "--refuse")
    assert refused.returncode != 0 and "never excessive" in refused.stderr  # R21: a year or more apart
    assert case_record(pipeline, second)["record"]["fee"] is None
