"""Transfers outside the EU in what people receive (R47-R49, GS-25). Runs after the other rights
modules, so that its last check covers every e-mail the session's pipeline has sent."""

from __future__ import annotations

import pytest

from tests.integration.pipeline import new_person
from tests.integration.rights_support import confirm, download, message, new_case, on_file_in_crm, quote, request

pytestmark = pytest.mark.integration


def test_gs25_the_access_answer_names_the_us_recipient_and_its_safeguard(pipeline):
    email, name = new_person()
    # A customer subscribed to our newsletter, sent through a US-hosted e-mailing tool.
    on_file_in_crm(pipeline, quote(email, name, language="en"))
    pipeline.publish(request(email, name, "access", language="en"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Your copy of your personal data is ready", contains="/download/")
    assert "Mailchimp" in outcome.text and "(United States)" in outcome.text
    assert "DPF-certified" in outcome.text and "SCC 2021/914 also in place" in outcome.text  # 15(2), R49
    documents = download(pipeline, outcome)
    information = documents.read("information.html").decode()
    assert "Mailchimp" in information and "SCC 2021/914 also in place" in information
    for document in documents.namelist():
        assert "privacy shield" not in documents.read(document).decode().lower()  # R47


def test_no_email_ever_cites_the_privacy_shield(pipeline):
    # R47: Decision 2016/1250 was invalidated in 2020 (Schrems II). Every e-mail of the session so far:
    # receipts, confirmations, outcomes, notices, DPO alerts.
    received = pipeline.mailbox.all()
    assert len(received) > 20
    for email in received:
        for part in (email.subject, email.text or "", email.html or ""):
            assert "privacy shield" not in part.lower(), f"'{email.subject}' cites the Privacy Shield"
