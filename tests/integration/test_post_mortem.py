"""Death and post-mortem directives end to end (LIL 84-85, R37-R40; GS-16, GS-18): the heir's e-mails,
the CRM and the register of directives."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.pipeline import new_person
from tests.integration.rights_support import (
    confirm,
    crm,
    crm_count,
    dead_letters,
    decided,
    download,
    message,
    messages,
    new_case,
    on_file_in_crm,
    prose,
    quote,
    request,
    select,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.integration
DIRECTIVE = "Transmettre mon dossier à D. Martin, puis tout effacer."


def death_notice(deceased: str, name: str, heir: str, proven: bool) -> dict:
    return request(
        deceased,
        name,
        "post_mortem",
        contact_email=heir,
        post_mortem={
            "action": "notify_death",
            "requester_role": "heir",
            "requester_name": "Alex Durand",
            "proof_of_death": proven,
            "proof_of_standing": proven,
            "wants_justification": True,
        },
    )


def directives_of(pipeline, email: str) -> list:
    return select(pipeline, "directives", "SELECT * FROM directives WHERE email = ?", email)


def test_gs16_a_death_report_without_proof_only_asks_for_proof(pipeline):
    deceased, name = new_person()
    heir, _ = new_person()
    on_file_in_crm(pipeline, quote(deceased, name))
    # An heir reports the death, without the certificate or the acte de notoriété yet.
    pipeline.publish(death_notice(deceased, name, heir, proven=False))
    ref = new_case(pipeline, heir)
    receipt = message(pipeline, heir, ref, subject="Accusé de réception de votre signalement d'un décès")
    assert "vos données personnelles" not in prose(receipt.text)  # written to the heir, not to the deceased
    answer = message(pipeline, heir, ref, subject="justificatifs nécessaires")
    assert "acte de notoriété" in prose(answer.text)
    # Nothing is erased on an unverified report (R39.1), and the deceased's address gets nothing.
    assert crm_count(pipeline, "people", deceased) == 1 and crm_count(pipeline, "quote_requests", deceased) == 1
    assert not messages(pipeline, deceased, ref)
    # The case waits for the proof rather than closing on the request (a reminder, then a closing notice).
    wait_for_status(pipeline, ref, "awaiting_proof")


def test_gs16_a_proven_death_erases_and_the_heir_gets_the_justification(pipeline):
    deceased, name = new_person()
    heir, _ = new_person()
    on_file_in_crm(pipeline, quote(deceased, name))
    # The heir says the certificate and the acte de notoriété are at hand: they are still asked for behind the
    # upload link and checked by the DPO first (R39.1, R40). Then, no directives on file: marketing stops, data go.
    pipeline.publish(death_notice(deceased, name, heir, proven=True))
    ref = new_case(pipeline, heir)
    message(pipeline, heir, ref, subject="justificatifs nécessaires", contains="/upload/")
    wait_for_status(pipeline, ref, "awaiting_proof")
    assert crm_count(pipeline, "people", deceased) == 1  # nothing erased before the check
    decided(pipeline, "verify-id", ref)
    justification = message(pipeline, heir, ref, subject="Justification des opérations réalisées")
    assert crm_count(pipeline, "people", deceased) == 0 and crm_count(pipeline, "quote_requests", deceased) == 0
    # The account of what was done, free of charge (LIL 85-II): marketing stopped, systems erased.
    assert "(CRM)" in justification.text and "lettre d'information" in justification.text
    assert "aucune directive particulière" in prose(justification.text)  # none on file: erased
    assert not messages(pipeline, deceased, ref)  # every answer went to the heir


def test_gs18_a_directive_is_recorded_with_its_own_consent_and_revoked(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    # The dedicated form, with its separate consent box ticked (LIL 85-I, R38).
    pipeline.publish(
        request(
            email,
            name,
            "post_mortem",
            post_mortem={
                "action": "record_directive",
                "instructions": DIRECTIVE,
                "executor_name": "D. Martin",
                "specific_consent": True,
            },
        )
    )
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    message(pipeline, email, ref, subject="Vos directives post mortem sont enregistrées")
    [directive] = directives_of(pipeline, email)
    assert directive["instructions"] == DIRECTIVE and directive["executor_name"] == "D. Martin"
    assert directive["specific_consent"] == 1
    # She changes her mind: revoking deletes the directive, and she is told.
    pipeline.publish(request(email, name, "post_mortem", post_mortem={"action": "revoke_directive"}))
    revocation = new_case(pipeline, email, seen=(ref,))
    confirm(pipeline, email, revocation)
    message(pipeline, email, revocation, subject="Révocation de vos directives post mortem")
    assert directives_of(pipeline, email) == []
    assert crm_count(pipeline, "people", email) == 1  # revoking directives erases nothing else


def test_gs18_accepting_the_terms_is_not_consent_to_a_directive(pipeline):
    email, name = new_person()
    key = uuid.uuid4().hex.encode()
    # The box was not ticked: the event is dead-lettered with the reason, nothing is recorded.
    pipeline.publish(
        request(
            email,
            name,
            "post_mortem",
            post_mortem={"action": "record_directive", "instructions": DIRECTIVE, "specific_consent": False},
        ),
        key=key,
    )
    [dead] = wait_until(lambda: dead_letters(pipeline, key), what="dead letter")
    reason = dict(dead.headers)["dsr-dlq-reason"].decode()
    assert "specific_consent" in reason and "terms and conditions" in reason
    assert directives_of(pipeline, email) == [] and pipeline.emails_to(email) == []


def test_an_heir_obtains_only_what_the_dpo_found_the_estate_needs(pipeline):
    deceased, name = new_person()
    heir, _ = new_person()
    on_file_in_crm(pipeline, quote(deceased, name))
    with crm(pipeline) as system:
        system.add_invoice(deceased, f"F-{deceased[:8]}", 24000, issued_at="2026-06-01")  # still unpaid
    # An heir asks, the death certificate and the acte de notoriété at hand, for what settling the estate needs.
    proven = {"action": "estate_access", "requester_role": "heir", "proof_of_death": True, "proof_of_standing": True}
    pipeline.publish(request(deceased, name, "post_mortem", contact_email=heir, post_mortem=proven))
    ref = new_case(pipeline, heir)
    wait_for_status(pipeline, ref, "awaiting_proof")  # the documents announced are uploaded and checked first
    decided(pipeline, "verify-id", ref)
    wait_for_status(pipeline, ref, "awaiting_decision")
    # LIL 85-II: the DPO decides; here the unpaid invoice, for the notary.
    decided(pipeline, "estate-access", ref, "--category", "invoices", "--explanation", "Une facture reste due.")
    answer = message(pipeline, heir, ref, subject="règlement de la succession", contains="/download/")
    assert "Une facture reste due." in answer.text and "CNIL" in answer.text
    crm_copy = json.loads(download(pipeline, answer).read("crm.json"))
    assert set(crm_copy["records"]) == {"invoices"}  # nothing beyond what the estate needs
    assert crm_count(pipeline, "people", deceased) == 1  # an heir's access erases nothing
    assert not messages(pipeline, deceased, ref)
