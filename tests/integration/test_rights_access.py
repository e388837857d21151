"""Access and portability end to end (LEGAL §4.1, §4.5; GS-01, GS-02, GS-12): real Kafka, real SMTP."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.pipeline import new_person
from tests.integration.rights_support import (
    case_record,
    confirm,
    contact,
    decided,
    download,
    message,
    messages,
    new_case,
    on_file_in_crm,
    quote,
    request,
    wait_for_status,
)

pytestmark = pytest.mark.integration


def test_gs01_access_names_the_recipients_and_delivers_every_system_with_the_lead_score(pipeline):
    email, name = new_person()
    # A prospect asked for a quote and agreed to our newsletter; later she asks for a copy of her data.
    on_file_in_crm(pipeline, quote(email, name))
    pipeline.publish(request(email, name, "access", message="Copie de mes données, s'il vous plaît."))
    ref = new_case(pipeline, email)
    # She writes from the address on file (L1): a confirmation link, never an ID request (R14, R15).
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="La copie de vos données", contains="/download/")
    # The e-mail gives the Art. 15(1) information tailored to her: named recipients, the CNIL (R22, R24);
    # as a prospect she has no invoice, so the accountant who keeps the books is not among them.
    for recipient in ("Mailchimp", "OVH SAS", "Aircall SAS", "Agence Vivaservices de Lyon"):
        assert recipient in outcome.text
    assert "Cabinet Martin" not in outcome.text and "summary.html" in outcome.text
    assert "États-Unis" in outcome.text and "CCT 2021/914 également en place" in outcome.text  # 15(2), R49
    assert "CNIL" in outcome.text and "cnil.fr/fr/plaintes" in outcome.text
    assert not [m for m in messages(pipeline, email, ref) if "Justificatif d'identité" in m.subject]
    # The copy: every system, lead score included (C-487/21, R23), tables in CSV, and her own purge date.
    archive = download(pipeline, outcome)
    crm = json.loads(archive.read("crm.json"))
    assert crm["records"]["person"][0]["lead_score"] == 10
    assert crm["records"]["person"][0]["_inferred_fields"] == ["lead_score"]
    assert "newsletter.json" in archive.namelist()
    assert {"csv/crm-person.csv", "csv/crm-quote_requests.csv", "csv/newsletter-subscription.csv"} <= set(
        archive.namelist()
    )
    information = archive.read("information.html").decode()
    purge = re.search(r"For you: until (\d{4})-\d{2}-\d{2}", information)
    assert purge and int(purge.group(1)) >= int(crm["records"]["person"][0]["created_at"][:4]) + 3  # §5 row 5
    assert "Mailchimp" in information and "CNIL" in information
    # The case record the DPO sees keeps procedural facts only, no copy of the data (R50).
    record = json.dumps(case_record(pipeline, ref))
    assert email not in record and name not in record and '"identity_level": "L1"' in record


def test_gs02_a_request_from_another_address_is_challenged_and_answered_only_on_file(pipeline):
    on_file, name = new_person()
    other, _ = new_person()
    on_file_in_crm(pipeline, quote(on_file, name))
    # Someone writes from an unknown address, naming the customer on file: reasonable doubt (L2).
    pipeline.publish(request(on_file, name, "access", contact_email=other))
    ref = new_case(pipeline, on_file)
    challenge = message(pipeline, on_file, ref, subject="Confirmez la demande faite en votre nom", contains="/verify/")
    assert "suspendu" in challenge.text  # §2.4: the deadline is suspended while we wait
    confirm(pipeline, on_file, ref)
    message(pipeline, on_file, ref, subject="La copie de vos données", contains="/download/")
    # Nothing ever went to the address the request came from: not the challenge, not the answer (R18).
    assert pipeline.emails_to(other) == []
    assert len(messages(pipeline, on_file, ref)) >= 3  # receipt, challenge, outcome


def test_gs12a_portability_gives_json_and_csv_without_the_lead_score(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    pipeline.publish(request(email, name, "portability", language="en"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Your data are ready in a portable format", contains="/download/")
    archive = download(pipeline, outcome)
    names = archive.namelist()
    # Provided and observed data of the quote (pre-contractual) and the newsletter (consent), as
    # JSON and CSV; inferred data such as the lead score stay out (R28, WP242).
    assert {"crm.json", "newsletter.json", "csv/crm-quote_requests.csv"} <= set(names)
    crm = json.loads(archive.read("crm.json"))
    assert crm["records"]["quote_requests"][0]["service"] == "plomberie"
    assert all("lead_score" not in archive.read(n).decode() for n in names)
    assert "information.html" not in names and not any(n.endswith(".pdf") for n in names)


def test_gs12b_portability_of_contact_form_data_does_not_apply_and_says_why(pipeline):
    email, name = new_person()
    # Only a message through the contact form: followed up on our legitimate interest.
    on_file_in_crm(pipeline, contact(email, name))
    pipeline.publish(request(email, name, "portability"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    answer = message(pipeline, email, ref, subject="ce droit ne s'applique pas")
    assert "intérêt légitime" in answer.text  # the basis, in her words (R28, R11)
    assert "droit d'accès" in answer.text  # an access copy is offered instead
    assert "CNIL" in answer.text and "recours juridictionnel" in answer.text
    assert not any("/download/" in (m.text or "") for m in messages(pipeline, email, ref))


def test_gs24_a_lawyer_with_a_mandate_gets_the_answer_after_the_dpo_checked_the_mandate(pipeline):
    client, name = new_person()
    lawyer, _ = new_person()
    on_file_in_crm(pipeline, quote(client, name))
    # A lawyer asks for access for their client, with a signed mandate (R6).
    pipeline.publish(
        request(
            client,
            name,
            "access",
            contact_email=lawyer,
            representative={"role": "lawyer", "name": "Maître Roux", "mandate_provided": True},
        )
    )
    ref = new_case(pipeline, lawyer)
    # Nothing goes to the client's address and no link is sent: a person checks identity and mandate.
    record = wait_for_status(pipeline, ref, "awaiting_verification")
    assert record["identity_level"] == "L3"
    assert not messages(pipeline, client, ref)
    decided(pipeline, "verify-id", ref, "--by", "dpo")
    outcome = message(pipeline, lawyer, ref, subject="La copie de vos données", contains="/download/")
    assert name in json.dumps(json.loads(download(pipeline, outcome).read("crm.json")))
    # The case log keeps the evidence that the mandate was checked, and nothing of the mandate itself.
    checked = case_record(pipeline, ref)["record"]["identity_checked"]
    assert checked.startswith("ID and mandate of the representative checked on ") and checked.endswith(" by dpo")
    assert not messages(pipeline, client, ref)
