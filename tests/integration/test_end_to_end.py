"""Requests end to end as a user would: publish to Kafka, read the SMTP server, follow the links."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile

import pytest

from tests.integration.pipeline import DPO_EMAIL, example, link, new_person, rights_request

pytestmark = pytest.mark.integration


def quote(email: str, name: str) -> dict:
    return example(
        "dsr.form.quote_requested", email=email, first_name=name, last_name="Durand", marketing_consent={"email": True}
    )


def crm_rows(pipeline, email: str) -> int:
    db = sqlite3.connect(pipeline.data_dir / "systems" / "crm.sqlite3")
    try:
        return db.execute("SELECT count(*) FROM people WHERE lower(email) = ?", (email.lower(),)).fetchone()[0]
    finally:
        db.close()


def confirm(pipeline, email: str) -> None:
    verification = pipeline.email(email, "/verify/")
    url = link(verification, "verify")
    status, page, _ = pipeline.get(url)
    assert status == 200 and b"<form" in page  # GET shows the page, confirms nothing
    status, page, _ = pipeline.post(url)
    assert status == 200


def test_quote_then_erasure(pipeline):
    email, name = new_person()
    # A website publishes a quote request: the CRM records it, the person is thanked.
    pipeline.publish(quote(email, name))
    pipeline.email(email)
    assert crm_rows(pipeline, email) == 1
    # The same person asks for erasure: receipt with the deadline, then the confirmation link.
    pipeline.publish(rights_request(email, name))
    receipt = pipeline.email(email, "Date limite de réponse")
    assert "Référence du dossier" in receipt.text
    confirm(pipeline, email)
    outcome = pipeline.email(email, "(CRM)", timeout=60)
    assert crm_rows(pipeline, email) == 0
    assert "lettre d'information" in outcome.text
    assert len([m for m in pipeline.emails_to(email) if m.subject == outcome.subject]) == 1


def test_access_request_with_download(pipeline):
    email, name = new_person()
    pipeline.publish(quote(email, name))
    pipeline.email(email)
    pipeline.publish(rights_request(email, name, right="access", language="en"))
    confirm(pipeline, email)
    outcome = pipeline.email(email, "/download/")
    status, body, headers = pipeline.get(link(outcome, "download"))
    assert status == 200 and headers["Content-Type"].startswith("application/zip")
    archive = zipfile.ZipFile(io.BytesIO(body))
    crm = json.loads(archive.read("crm.json"))
    assert name in json.dumps(crm)
    assert pipeline.get(link(outcome, "download") + "x")[0] in (400, 404)  # a tampered link gives nothing


def test_a_person_nobody_knows_gets_a_no_data_answer(pipeline):
    email, name = new_person()
    pipeline.publish(rights_request(email, name, language="en"))
    confirm(pipeline, email)
    outcome = pipeline.email(email, "no personal data")
    assert outcome is not None


def test_worker_killed_mid_case_completes_with_one_outcome(pipeline):
    email, name = new_person()
    pipeline.publish(quote(email, name))
    pipeline.email(email)
    pipeline.publish(rights_request(email, name))
    verification = pipeline.email(email, "/verify/")
    pipeline.kill()  # crash with the case waiting for confirmation
    pipeline.start()
    status, _, _ = pipeline.post(link(verification, "verify"))
    assert status == 200
    pipeline.kill()  # and again, right after the confirmation, while tasks are in flight
    pipeline.start()
    outcome = pipeline.email(email, "(CRM)", timeout=90)
    outcomes = [m for m in pipeline.emails_to(email) if m.subject == outcome.subject]
    assert len(outcomes) == 1
    assert crm_rows(pipeline, email) == 0


def test_an_external_system_erases_through_plain_kafka(pipeline, billing_records):
    from tests.integration.conftest import BILLING_CUSTOMER

    pipeline.publish(rights_request(BILLING_CUSTOMER, "Client"))
    confirm(pipeline, BILLING_CUSTOMER)
    outcome = pipeline.email(BILLING_CUSTOMER, "billing", timeout=60)
    assert "2" in outcome.text and BILLING_CUSTOMER not in billing_records


def test_opening_a_task_needs_a_system_token_on_the_admin_listener(pipeline):
    import urllib.request

    def post(base: str) -> int:
        request = urllib.request.Request(
            base + "/api/tasks/open", method="POST", data=b'{"task_id": 1}', headers={"Authorization": "Bearer nope"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post(pipeline.admin_url) == 401  # a token no system has
    assert post(pipeline.url) == 404  # the public listener knows no such route


def test_smtp_refusals_are_retried_or_parked_and_the_dpo_told(pipeline):
    import subprocess
    import sys

    email, name = new_person()
    # The SMTP server refuses the receipt for good (550): parked at once, the DPO told. It then answers
    # "try later" (451) twice: the verification e-mail is retried and still arrives, on its third attempt.
    pipeline.sink.fail_for(email, 1, 550)
    pipeline.sink.fail_for(email, 2, 451)
    pipeline.publish(rights_request(email, name))
    pipeline.email(email, "/verify/")
    parked = pipeline.mailbox.wait_for(
        lambda m: DPO_EMAIL in m.rcpt_tos and "accusé de réception de la demande" in (m.text or ""), timeout=60
    )  # the message named in words, never by its code
    assert email not in parked.text
    assert not [m for m in pipeline.emails_to(email) if "Date limite de réponse" in (m.text or "")]
    # Once the cause is fixed, the DPO sends it again, as the notice says.
    reference = re.search(r"DSR-[0-9A-F]{10}", parked.subject).group(0)
    command = [sys.executable, "-m", "dsr.cli", "mail", "retry", reference, "--bootstrap", pipeline.bootstrap]
    assert "requeued receipt" in subprocess.run(command, capture_output=True, text=True, check=True).stdout
    pipeline.email(email, "Date limite de réponse")
