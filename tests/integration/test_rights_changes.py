"""Rights that change data, end to end: erasure, holds, objection, withdrawal, rectification, restriction,
minors (LEGAL §4.2-4.6, R41; GS-05 to GS-11, GS-19, GS-23). Real Kafka, real SMTP, the systems' stores."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gdpr.minors import age_on
from mail.templates import longdate
from tests.integration.pipeline import new_person
from tests.integration.rights_support import (
    ALL_CONSENTS,
    CRM_RECIPIENTS,
    confirm,
    crm,
    crm_count,
    decided,
    dpo,
    job_application,
    latest_consents,
    line_with,
    message,
    messages,
    new_case,
    newsletter,
    notices_about,
    on_file_in_crm,
    paris_today,
    prose,
    quote,
    request,
    select,
    subscribed,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.integration
CRM_TABLES = ("people", "quote_requests", "consents", "call_notes", "contact_messages", "invoices")


def test_gs05_erasure_by_a_prospect(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    wait_until(lambda: subscribed(pipeline, email), what="subscribed")
    pipeline.publish(request(email, name, "erasure"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Effacement de vos données personnelles")
    # Gone from the CRM and the e-mailing tool; only a keyed fingerprint stays, so she is never
    # re-imported (R45). The outcome lists the systems and the entry kept.
    assert all(crm_count(pipeline, table, email) == 0 for table in CRM_TABLES)
    with newsletter(pipeline) as tool:
        assert tool.is_suppressed(email) and email not in tool.send_list("next-campaign")
    assert "(CRM)" in line_with(outcome.text, "éléments effacés")
    assert "lettre d'information" in outcome.text and "liste d'opposition" in outcome.text
    # Art. 19: every recipient of the CRM is told, and named to her (R35, R36).
    notices = wait_until(
        lambda: (n := notices_about(pipeline, email)) and set(CRM_RECIPIENTS) <= set(n) and n, what="Art. 19 notices"
    )
    assert {n["change"] for recipient in CRM_RECIPIENTS for n in notices[recipient]} == {"erasure"}
    assert "OVH SAS" in outcome.text and "Agence Vivaservices de Lyon" in outcome.text
    # Marketing stopped before she confirmed, but her newsletter data waited for the verified
    # erasure (§3.2): so the e-mailing processor is told of the erasure too, and named.
    notices = wait_until(
        lambda: (n := notices_about(pipeline, email)) and "mailchimp" in n and n,
        what="Art. 19 notice to the e-mailing processor",
    )
    assert [n["change"] for n in notices["mailchimp"]] == ["erasure"]
    assert "Mailchimp" in outcome.text


def test_gs06_gs23_erasure_keeps_invoices_and_held_data_with_grounds_until_the_hold_is_released(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    # She became a customer: an invoice, which accounting law keeps 10 years (CCOM L123-22).
    number = f"F-{email[7:15]}"
    with crm(pipeline) as system:
        system.add_invoice(email, number, 24000, issued_at="2026-06-01", paid_at="2026-06-15")
    pipeline.publish(request(email, name, "erasure"))
    ref = new_case(pipeline, email)
    # A dispute about her quote is open: the DPO holds that data before anything is erased (R46).
    review = paris_today() + timedelta(days=180)
    decided(
        pipeline,
        "hold",
        ref,
        "--hold-id",
        "dispute",
        "--category",
        "quote_requests",
        "--ground",
        "legal_claims",
        "--owner",
        "legal",
        "--review-on",
        review.isoformat(),
    )
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Effacement partiel")
    # Profile and marketing data are gone; the invoice is in the restricted archive, the quote kept.
    assert crm_count(pipeline, "people", email) == 0 and crm_count(pipeline, "invoices", email) == 0
    assert crm_count(pipeline, "invoice_archive", email) == 1
    assert crm_count(pipeline, "quote_requests", email) == 1
    # The partial-action notice: each kept item with its Art. 17(3) ground and end date, and the remedies.
    text = outcome.text
    assert "factures (1)" in text and "article 17, paragraphe 3, point b" in text
    assert f"jusqu'au {longdate(date(2036, 12, 31), 'fr')}" in text  # issued 2026-06-01: FY close + 10 years
    assert "Demandes de devis (1)" in text and "article 17, paragraphe 3, point e" in text  # named, not coded
    assert f"jusqu'au {longdate(review, 'fr')}" in text  # the hold's review date (R46)
    assert "CNIL" in text and "recours juridictionnel" in text
    # The dispute ends: the DPO releases the hold, and what it kept is erased at once (R46, GS-23).
    decided(pipeline, "release", ref, "--hold-id", "dispute")
    wait_until(lambda: crm_count(pipeline, "quote_requests", email) == 0, what="held quote erased")
    assert crm_count(pipeline, "invoice_archive", email) == 1  # the legal obligation still applies
    assert not select(pipeline, "crm", "SELECT 1 FROM restrictions WHERE email = ?", email)


def test_gs07_gs08_objection_to_marketing_stops_every_channel_without_a_confirmation_step(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name, marketing_consent=ALL_CONSENTS))
    wait_until(lambda: subscribed(pipeline, email), what="subscribed")
    # "Stop all marketing": no verification (R30, §3.2), the objection covers every channel.
    pipeline.publish(request(email, name, "objection"))
    ref = new_case(pipeline, email)
    outcome = message(pipeline, email, ref, subject="Votre opposition à la prospection commerciale")
    for channel in ("e-mail", "SMS", "téléphone", "courrier postal"):
        assert line_with(outcome.text, f"- {channel}")
    assert not any("/verify/" in (m.text or "") for m in messages(pipeline, email, ref))
    # Tomorrow's campaign leaves her out; her CRM choices record a refusal on every channel and of
    # the profiling behind marketing (Art. 21(2)).
    with newsletter(pipeline) as tool:
        assert email not in tool.send_list("tomorrow") and tool.is_suppressed(email)
    choices = latest_consents(pipeline, email)
    assert {c: granted for c, (granted, _) in choices.items()} == {
        "email": 0,
        "sms": 0,
        "phone": 0,
        "post": 0,
        "profiling": 0,
    }


def test_consent_withdrawal_for_sms_only_keeps_the_other_channels(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name, marketing_consent=ALL_CONSENTS))
    wait_until(lambda: subscribed(pipeline, email), what="subscribed")
    # "STOP" by SMS: a withdrawal of that one consent (R31), as easy as giving it.
    pipeline.publish(request(email, name, "consent_withdrawal", channels=["sms"]))
    ref = new_case(pipeline, email)
    outcome = message(pipeline, email, ref, subject="Retrait de votre consentement")
    assert line_with(outcome.text, "- SMS") and "- e-mail" not in outcome.text
    # The CRM records the refusal for SMS as a withdrawal; e-mail stays consented, the newsletter too.
    choices = latest_consents(pipeline, email)
    assert choices["sms"] == (0, "withdrawal")
    assert choices["email"][0] == 1 and "profiling" not in choices  # a withdrawal is not an objection
    assert subscribed(pipeline, email)


def test_gs10_rectification_of_the_postal_address(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    new_address = {"street": "3 place Bellecour", "postal_code": "69002", "city": "Lyon"}
    pipeline.publish(request(email, name, "rectification", rectification={"postal_address": new_address}))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Rectification de vos données personnelles")
    # The CRM holds the new address; the e-mail shows old → new, and the franchisee that handles her
    # quote was told (Art. 19, R35).
    row = select(pipeline, "crm", "SELECT street, postal_code, city FROM people WHERE email = ?", email)[0]
    assert tuple(row) == ("3 place Bellecour", "69002", "Lyon")
    change = line_with(outcome.text, "Adresse postale")
    assert change.index("12 rue des Lilas") < change.index("→") < change.index("3 place Bellecour")
    assert "(CRM)" in outcome.text and "Agence Vivaservices de Lyon" in outcome.text
    notices = wait_until(lambda: notices_about(pipeline, email).get("franchise-lyon"), what="franchisee notice")
    assert notices[0]["change"] == "rectification" and notices[0]["fields"] == ["postal_address"]
    assert notices[0]["systems"] == ["crm"]


def test_gs11_restriction_is_lifted_only_after_the_person_was_told(pipeline):
    email, name = new_person()
    on_file_in_crm(pipeline, quote(email, name))
    wait_until(lambda: subscribed(pipeline, email), what="subscribed")
    # She contests the accuracy of her data: restricted while we check (Art. 18(1)(a)).
    pipeline.publish(request(email, name, "restriction", restriction_ground="accuracy_contested"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    message(pipeline, email, ref, subject="Limitation du traitement")
    marked = "SELECT basis FROM restrictions WHERE email = ?"
    assert [row["basis"] for row in select(pipeline, "crm", marked, email)] == ["art18"]
    assert not subscribed(pipeline, email)  # storage only: no campaign (Art. 18(2))
    wait_for_status(pipeline, ref, "restricted")
    # Lifting today is refused: she must be told first (Art. 18(3)).
    today = paris_today()
    refused = dpo(pipeline, "lift-restriction", ref, "--on", today.isoformat(), "--reason", "accuracy_verified")
    assert refused.returncode != 0 and "18(3)" in refused.stderr
    # Lifting tomorrow: the notice with the date arrives now, and nothing is lifted yet.
    tomorrow = today + timedelta(days=1)
    decided(pipeline, "lift-restriction", ref, "--on", tomorrow.isoformat(), "--reason", "accuracy_verified")
    notice = message(pipeline, email, ref, subject="Levée prochaine de la limitation")
    assert f"elle sera levée le {longdate(tomorrow, 'fr')}" in prose(notice.text)
    assert [row["basis"] for row in select(pipeline, "crm", marked, email)] == ["art18"]
    assert wait_for_status(pipeline, ref, "restricted")


def test_gs19_consent_given_at_14_without_a_parent_is_no_consent(pipeline):
    child, name = new_person()
    other_child, other_name = new_person()
    born = paris_today() - timedelta(days=14 * 365 + 40)
    assert age_on(born, paris_today()) == 14
    # A 14-year-old applies for an apprenticeship and ticks "send me your offers by e-mail" (LIL 45).
    pipeline.publish(job_application(child, name, birth_date=born.isoformat(), marketing_consent={"email": True}))
    # Another 14-year-old does the same with a parent's consent: that one is valid.
    pipeline.publish(
        job_application(
            other_child,
            other_name,
            birth_date=born.isoformat(),
            parental_consent=True,
            marketing_consent={"email": True},
        )
    )
    wait_until(lambda: subscribed(pipeline, other_child), what="the consented child subscribed")
    # Both applications are in the recruitment tool; only the second child gets our newsletter.
    candidates = select(
        pipeline, "recruitment", "SELECT email FROM candidates WHERE email IN (?, ?)", child, other_child
    )
    assert {row["email"] for row in candidates} == {child, other_child}
    assert not subscribed(pipeline, child)
    with newsletter(pipeline) as tool:
        assert child not in tool.send_list("offers")
