"""Every answer true in law and in fact (issue 10): what each e-mail says matches the case it is sent for."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from gdpr.commands import SendEmail
from gdpr.lifecycle import evolve
from mail.labels import MESSAGE_LABELS
from mail.templates import MESSAGE_TYPES
from schemas.cases import DpoDecided
from schemas.decisions import Extend, FlagExcessive, RequestId, VerifyId
from schemas.intake import Language, Right
from schemas.notifications import Recipient
from schemas.tasks import KeepGround, KeptItem, TaskAction, TaskStatus
from streams.notices import address, email_for
from tests.unit.messages import (
    CUSTOMER,
    EMAIL,
    PROSPECT,
    T0,
    answer,
    carry,
    confirm,
    context,
    discovered,
    email,
    exported,
    opened,
)

pytestmark = pytest.mark.unit

# A code as the pipeline stores it (`awaiting_verification`, `legal_obligation`): never shown to a reader.
RAW_CODE = re.compile(r"(?<![\w./@=-])[a-z]+(?:_[a-z0-9]+)+(?![\w./@-])")
COMMAND = re.compile(r"dsr (?:case|mail) [^\n<]*")


def flat(text: str) -> str:
    """The text with its line breaks and no-break spaces undone, so a phrase is found wherever it wraps."""
    return re.sub(r"[ \n\u00a0]+", " ", text)


def raw_codes(text: str) -> list[str]:
    """Codes in the prose; the `dsr case` commands shown to the DPO are the CLI's own words."""
    return RAW_CODE.findall(COMMAND.sub("", text))


# --- small words ----------------------------------------------------------------------------------


def test_the_dpo_reminder_names_the_status_in_words():
    # "Statut actuel : in_progress" showed a raw code: every status has a label in both languages.
    ctx = context()
    reminder = email(ctx, opened(ctx, Right.ACCESS), "dpo_deadline_reminder", T0 + timedelta(days=25), days=10)
    assert "discovering" not in reminder.text and not raw_codes(reminder.text)
    assert "recherche des systèmes qui détiennent des données" in reminder.text


def test_every_message_type_has_a_name_for_the_parked_mail_alert():
    assert set(MESSAGE_TYPES) - {t for t in MESSAGE_TYPES if t.startswith("dpo_")} <= set(MESSAGE_LABELS)


def test_the_dpo_task_alerts_name_the_system_and_the_action_in_words():
    ctx = context()
    state = discovered(ctx, opened(ctx, Right.ERASURE), {"crm": {}})
    detail = {"task_id": "t", "system": "crm", "action": "erase", "error": "OperationalError"}
    failed = email(ctx, state, "dpo_task_failed", **detail)
    assert "effacement" in failed.subject and "(CRM)" in failed.subject
    assert not raw_codes(failed.text) and "<code>" not in failed.html


# --- 1. Art. 12(4) after an extension ------------------------------------------------------------


def test_the_reminder_of_an_extended_case_names_d1_for_refusals():
    ctx = context()
    state = opened(ctx, Right.ERASURE)
    state = state.model_copy(
        update={"extension": Extend(by="dpo", at=T0, reasons=["volume_of_data"]), "deadline": date(2027, 6, 7)}
    )
    reminder = email(ctx, state, "dpo_deadline_reminder", datetime(2027, 5, 28, 9, tzinfo=UTC), days=10)
    text = flat(reminder.text)
    assert "7 juin 2027" in text and "ou un avis de frais ne peut être notifié que jusqu'au 5 avril 2027" in text
    assert "Une prolongation de deux mois n'est possible" not in text  # already extended: none left


def test_the_alert_before_d1_says_the_partial_refusal_cannot_wait_for_the_extended_deadline():
    ctx = context()
    state = opened(ctx, Right.ERASURE).model_copy(
        update={"extension": Extend(by="dpo", at=T0, reasons=["volume_of_data"]), "deadline": date(2027, 6, 7)}
    )
    alert = email(ctx, state, "dpo_decision_needed", kind="partial_refusal_due")
    text = flat(alert.text)
    assert "Le refus partiel doit partir au plus tard le 5 avril 2027" in text
    assert "dsr case refuse" in text and "--partial" in text


# --- 2. The deadline the person is told is the one that applies ------------------------------------


def l2_case(ctx, received, challenge_at):
    state = discovered(ctx, opened(ctx, Right.ACCESS, received, details={"identity_level": "L2"}), {"crm": {}})
    state, _ = carry(ctx, state, challenge_at)
    return state


def test_a_challenge_sent_in_time_says_the_clock_stops_and_the_next_mail_gives_the_new_date():
    ctx = context()
    received, challenge_at = datetime(2027, 3, 1, 8, tzinfo=UTC), datetime(2027, 3, 2, 9, tzinfo=UTC)
    state = l2_case(ctx, received, challenge_at)
    challenge = flat(email(ctx, state, "verification_challenge", challenge_at, token_id="t").text)
    assert "est suspendu à compter de l'envoi de ce message" in challenge
    state = confirm(ctx, state, datetime(2027, 3, 10, 9, tzinfo=UTC))
    update = flat(email(ctx, state, "deadline_update", datetime(2027, 3, 10, 9, tzinfo=UTC)).text)
    assert "du 2 mars 2027 au 10 mars 2027 (8 jours)" in update
    assert "initialement fixée au 1er avril 2027, est reportée au 9 avril 2027" in update


def test_a_challenge_sent_late_does_not_claim_a_suspension():
    ctx = context()
    received, late = datetime(2027, 3, 1, 8, tzinfo=UTC), datetime(2027, 3, 5, 9, tzinfo=UTC)
    state = discovered(ctx, opened(ctx, Right.ACCESS, received, details={"identity_level": "L2"}), {"crm": {}})
    text = flat(email(ctx, state, "verification_challenge", late, token_id="t").text)
    assert "suspendu" not in text
    assert "continue donc de courir. Notre réponse reste due au plus tard le 1er avril 2027" in text


def test_the_receipt_says_the_date_may_move_only_where_it_can():
    ctx = context()
    l1 = flat(email(ctx, opened(ctx, Right.ACCESS), "receipt", priority=False).text)
    assert "Cette confirmation ne change pas la date de notre réponse" in l1
    assert "si un doute raisonnable sur votre identité nous conduisait ensuite à vous demander un justificatif" in l1
    l2 = flat(email(ctx, opened(ctx, Right.ACCESS, details={"identity_level": "L2"}), "receipt").text)
    assert "Cela ne change pas la date" not in l2 and "peut suspendre le délai de réponse" in l2
    objection = flat(email(ctx, opened(ctx, Right.OBJECTION), "receipt").text)
    assert "confirmer" not in objection  # a marketing objection asks nothing (R30)


def test_an_l1_receipt_does_not_promise_a_date_an_id_request_can_move_and_the_new_date_is_sent():
    # An L1 request: the link goes to the address it came from. Two days later the DPO has a reasonable doubt
    # and asks for an ID (request-id), which suspends the clock (R12); the ID is checked a week later.
    ctx = context()
    state, _ = carry(ctx, discovered(ctx, opened(ctx, Right.ACCESS, language=Language.EN), {"crm": {}}), T0)
    receipt = flat(email(ctx, state, "receipt").text)
    assert "This does not change the date of our reply" not in receipt
    assert "That confirmation does not change the date of our reply" in receipt
    assert "we would then tell you so, and give you the new date" in receipt
    for html_ in (email(ctx, state, "receipt").html, email(ctx, opened(ctx, Right.ACCESS), "receipt").html):
        assert (
            "does not change the date of our reply:" not in html_
            and "ne change pas la date de notre réponse :" not in html_
        )
    asked, checked = datetime(2027, 3, 8, 9, tzinfo=UTC), datetime(2027, 3, 15, 9, tzinfo=UTC)
    state = evolve(
        state, DpoDecided(request_id="r1", decision=RequestId(by="dpo", at=asked, reason="challenge_failed"))
    )
    assert "is suspended until we receive this document" in flat(email(ctx, state, "id_document_request", asked).text)
    state = evolve(state, DpoDecided(request_id="r1", decision=VerifyId(by="dpo", at=checked)))
    state, commands = carry(ctx, state, checked)
    assert "email:deadline_update" in [c.command_id for c in commands if isinstance(c, SendEmail)]
    update = flat(email(ctx, state, "deadline_update", checked).text)
    assert "5 April 2027" in update and "12 April 2027" in update  # the date the receipt gave, and the new one


def test_an_id_request_from_a_representative_case_says_whether_the_clock_stops():
    ctx = context()
    details = {"identity_level": "L3", "representative_role": "lawyer", "mandate_provided": True}
    state = opened(ctx, Right.ACCESS, details=details)
    late = state.model_copy(update={"id_requested_at": datetime(2027, 3, 15, 9, tzinfo=UTC)})
    text = flat(email(ctx, late, "id_document_request").text)
    assert "suspendu" not in text and "reste due au plus tard le 5 avril 2027" in text
    early = state.model_copy(update={"id_requested_at": datetime(2027, 3, 8, 9, tzinfo=UTC)})
    assert "est suspendu jusqu'à la réception de ce justificatif" in flat(email(ctx, early, "id_document_request").text)


# --- 3. A requester at a new address ---------------------------------------------------------------


def test_the_requester_is_told_how_to_prove_who_they_are_without_learning_whether_data_exist():
    ctx = context()
    state = l2_case(ctx, datetime(2027, 3, 1, 8, tzinfo=UTC), datetime(2027, 3, 2, 8, tzinfo=UTC))
    state = state.model_copy(update={"requester": ctx.sealer.seal(state.subject_ref, {"email": "new@example.test"})})
    open_ = email(ctx, state, "challenge_unanswered", datetime(2027, 3, 16, 9, tzinfo=UTC), closed=False)
    text = flat(open_.text)
    assert "avant le 1er avril 2027" in text and "justificatif d'identité" in text
    assert "fichiers" not in text and "CNIL" not in text  # nothing about what we hold; no decision yet
    closed = flat(email(ctx, state, "challenge_unanswered", datetime(2027, 4, 1, 9, tzinfo=UTC), closed=True).text)
    assert "close le 1er avril 2027 sans y donner suite" in closed and "CNIL" in closed  # R11: remedies


def test_once_a_person_checked_the_requesters_id_the_answers_go_to_that_address():
    ctx = context()
    state = l2_case(ctx, datetime(2027, 3, 1, 8, tzinfo=UTC), datetime(2027, 3, 2, 8, tzinfo=UTC))
    requester = ctx.sealer.seal(state.subject_ref, {"email": "new@example.test"})
    state = state.model_copy(update={"requester": requester})
    assert address(state, Recipient.SUBJECT) == state.subject  # not verified: only the address on file
    checked = state.model_copy(update={"identity_checked": "ID checked on 2027-03-20 by dpo"})
    assert address(checked, Recipient.SUBJECT) == requester  # R18: the channel whose ID a person checked


# --- 4. The access e-mail is about this person ----------------------------------------------------


def answered(ctx, right, holdings, **fields):
    """A case of `right` whose holders all answered their main task, waiting for its outcome e-mail."""
    state = confirm(ctx, discovered(ctx, opened(ctx, right, **fields), holdings), T0)
    state, _ = carry(ctx, state, T0)
    return exported(ctx, state, holdings, T0) if right in (Right.ACCESS, Right.PORTABILITY) else state


def test_a_prospects_access_answer_names_only_what_concerns_her_and_the_readable_summary():
    ctx = context()
    text = flat(email(ctx, answered(ctx, Right.ACCESS, PROSPECT), "outcome_access").text)
    assert "Cabinet Martin" not in text and "Factures" not in text and "franchisé Exemple" not in text
    assert "Traitement de vos demandes de devis" in text and "Comptabilité" not in text
    assert "summary.html" in text and "tableaux" in text


def test_a_customers_access_answer_names_the_accountant_who_receives_her_invoices():
    ctx = context()
    text = flat(email(ctx, answered(ctx, Right.ACCESS, CUSTOMER), "outcome_access").text)
    assert "Cabinet Martin" in text and "Factures et paiements" in text and "Mailchimp" in text


def test_the_persons_own_information_travels_sealed():
    ctx = context()
    state = answered(ctx, Right.ACCESS, CUSTOMER)
    request = email_for(ctx, state, SendEmail("email:outcome", "outcome_access", "subject"), T0)
    assert "information" not in request.context and "Cabinet" not in request.model_dump_json()


# --- 5. Portability: each category left out, with its true reason ---------------------------------


CONTACT_ONLY = {
    "crm": {
        "person": [{"first_name": "Camille", "created_at": "2026-06-01", "_origin": "provided"}],
        "contact_messages": [{"message": "Bonjour", "submitted_at": "2026-06-01", "_origin": "provided"}],
    }
}


def test_a_customers_portable_file_says_why_each_category_is_left_out_with_the_remedies():
    ctx = context()
    text = flat(email(ctx, answered(ctx, Right.PORTABILITY, CUSTOMER), "outcome_portability").text)
    assert "Messages envoyés par notre formulaire de contact (Notre logiciel de gestion clients (CRM))" in text
    assert "fondement juridique : notre intérêt légitime" in text  # not "inferred": its basis is the reason
    assert "fondement juridique : le respect d'une obligation légale" in text  # the proof of her consents
    assert "sans les informations que nous en avons déduites ou calculées" in text  # the lead score
    assert "CNIL" in text  # something is left out: the remedies (R11)


def test_portability_refused_names_the_bases_of_the_persons_own_data_only():
    ctx = context()
    state = answered(ctx, Right.PORTABILITY, CONTACT_ONLY)
    text = flat(email(ctx, state, "portability_not_applicable").text)
    assert "notre intérêt légitime" in text and "obligation légale" not in text  # GS-12b


# --- 6. Rectification: what each system answered --------------------------------------------------


def rectified(ctx, **answers):
    holdings = {system: {} for system in answers}
    state = confirm(ctx, discovered(ctx, opened(ctx, Right.RECTIFICATION), holdings), T0)
    state, _ = carry(ctx, state, T0)
    for system, fields in answers.items():
        state = answer(state, system, TaskAction.RECTIFY, T0, **fields)
    return state


def test_no_change_needed_only_when_every_system_says_so_and_never_an_empty_list():
    ctx = context()
    text = flat(email(ctx, rectified(ctx, crm={}, recruitment={}), "outcome_rectification").text)
    assert "aucune modification n'a été nécessaire" in text and "Systèmes mis à jour" not in text
    assert (
        "Systèmes vérifiés, où aucune modification n'était nécessaire : - gestion de la relation client (CRM)" in text
    )
    assert "CNIL" not in text


def test_a_system_that_could_not_apply_the_change_is_named_with_the_remedies():
    ctx = context()
    failed = {"status": TaskStatus.FAILED, "error": "RuntimeError"}
    phone = ctx.sealer.seal(ctx.sealer.ref(EMAIL), {"phone": {"old": None, "new": "+33 6 12 34 56 78"}})
    state = rectified(ctx, crm={"fields_changed": ["phone"], "changes": phone}, recruitment=failed)
    email_ = email(ctx, state, "outcome_rectification")
    text = flat(email_.text)
    assert email_.subject.startswith("Rectification partielle") and "aucune modification n'a été nécessaire" not in text
    assert "La modification n'a pas pu être appliquée dans : - recrutement" in text
    assert "Systèmes mis à jour : - gestion de la relation client (CRM)" in text and "CNIL" in text
    only_failed = flat(email(ctx, rectified(ctx, crm=failed), "outcome_rectification").text)
    assert "aucune modification n'a été nécessaire" not in only_failed and "CNIL" in only_failed


def test_a_system_that_reports_changed_fields_without_their_values_makes_it_a_rectification():
    # The sealed old and new values are optional: a system may report only the names of the fields it changed.
    ctx = context()
    state = rectified(ctx, crm={"fields_changed": ["phone"]}, recruitment={})
    email_ = email(ctx, state, "outcome_rectification")
    text = flat(email_.text)
    assert email_.subject.startswith("Rectification de vos données personnelles")
    assert "aucune modification n'a été nécessaire" not in text and "ont été corrigées ou complétées" in text
    assert "Systèmes mis à jour : - gestion de la relation client (CRM)" in text
    assert "Systèmes vérifiés, où aucune modification n'était nécessaire : - recrutement" in text
    failed = {"status": TaskStatus.FAILED, "error": "RuntimeError"}
    partial = email(ctx, rectified(ctx, crm={"fields_changed": ["phone"]}, recruitment=failed), "outcome_rectification")
    text = flat(partial.text)
    assert partial.subject.startswith("Rectification partielle") and "aucun autre de nos systèmes" not in text
    assert "Systèmes mis à jour : - gestion de la relation client (CRM)" in text and "CNIL" in text


# --- 7. Objection and withdrawal: what the systems reported --------------------------------------


def suppressed(ctx, right, **answers):
    """A marketing objection or a withdrawal, with each marketing system's answer."""
    state, _ = carry(ctx, discovered(ctx, opened(ctx, right), {"crm": {}, "newsletter": {}}), T0)
    for system, fields in answers.items():
        state = answer(state, system, TaskAction.SUPPRESS_MARKETING, T0, **fields)
    return state


def test_the_objection_answer_claims_profiling_and_an_entry_only_when_a_system_reported_them():
    ctx = context()
    entry = KeptItem(item="suppression_entry", ground=KeepGround.SUPPRESSION_LIST, until="2030-03-05")
    reported = suppressed(
        ctx,
        Right.OBJECTION,
        crm={"suppressed_channels": ["email", "sms", "phone", "post", "profiling"]},
        newsletter={"suppressed_channels": ["email"], "kept": [entry]},
    )
    text = flat(email(ctx, reported, "outcome_objection").text)
    assert "cessé d'utiliser vos données pour établir un profil" in text and "jusqu'au 5 mars 2030" in text
    bare = suppressed(ctx, Right.OBJECTION, crm={"suppressed_channels": ["sms"]}, newsletter={})
    text = flat(email(ctx, bare, "outcome_objection").text)
    assert "profil" not in text and "inscription minimale" not in text
    assert "- SMS" in text and "- e-mail" not in text  # only what a system said it stopped


def test_the_withdrawal_answer_says_data_were_erased_only_when_a_system_erased_some():
    ctx = context()
    erased = suppressed(ctx, Right.CONSENT_WITHDRAWAL, newsletter={"suppressed_channels": ["email"], "erased_items": 2})
    assert "ont été effacées" in flat(email(ctx, erased, "outcome_consent_withdrawal").text)
    kept = suppressed(ctx, Right.CONSENT_WITHDRAWAL, crm={"suppressed_channels": ["email"]})
    text = flat(email(ctx, kept, "outcome_consent_withdrawal").text)
    assert "ont été effacées" not in text and "Aucune donnée n'a dû être effacée" in text


# --- 8. An erasure stops marketing before confirmation, and says so -------------------------------


def test_an_unconfirmed_erasure_says_marketing_stopped_and_why_not_that_nothing_changed():
    ctx = context()
    state = discovered(ctx, opened(ctx, Right.ERASURE), {"crm": {}, "newsletter": {}})
    link = flat(email(ctx, state, "verification", token_id="t").text)
    assert "modifiée" not in link and "nous avons cessé de vous adresser de la prospection commerciale" in link
    assert "ne peut pas vous nuire" in link  # why it did not wait
    state, _ = carry(ctx, state, T0)  # the link and the suppress_marketing tasks go out
    for system in ("crm", "newsletter"):
        state = answer(state, system, TaskAction.SUPPRESS_MARKETING, T0, suppressed_channels=["email"])
    closed = flat(email(ctx, state, "identity_not_verified", datetime(2027, 3, 13, 9, tzinfo=UTC)).text)
    assert "rien communiqué, modifié ni effacé" not in closed
    assert "depuis le 5 mars 2027, nous ne vous adressons plus de prospection commerciale" in closed
    access = discovered(ctx, opened(ctx, Right.ACCESS), {"crm": {}})
    assert "prospection" not in flat(email(ctx, access, "verification", token_id="t").text)


def test_marketing_is_said_stopped_only_once_every_marketing_system_reported_it_done():
    # The suppress_marketing tasks went out with the link; issued is not done.
    ctx = context()
    state, _ = carry(ctx, discovered(ctx, opened(ctx, Right.ERASURE), {"crm": {}, "newsletter": {}}), T0)
    later = datetime(2027, 3, 19, 9, tzinfo=UTC)
    stopped = "nous ne vous adressons plus de prospection commerciale"
    assert stopped not in flat(email(ctx, state, "identity_not_verified", later).text)
    assert "la prospection commerciale reste arrêtée" not in flat(
        email(ctx, state, "verification_reminder", later).text
    )
    failed = {"status": TaskStatus.FAILED, "error": "RuntimeError"}
    state = answer(state, "crm", TaskAction.SUPPRESS_MARKETING, T0, suppressed_channels=["email"])
    half = answer(state, "newsletter", TaskAction.SUPPRESS_MARKETING, T0, **failed)
    assert stopped not in flat(email(ctx, half, "identity_not_verified", later).text)  # the newsletter still sends
    done = answer(state, "newsletter", TaskAction.SUPPRESS_MARKETING, T0, suppressed_channels=["email"])
    assert stopped in flat(email(ctx, done, "identity_not_verified", later).text)
    assert "la prospection commerciale reste arrêtée" in flat(email(ctx, done, "verification_reminder", later).text)


# --- 9. The fee notice ----------------------------------------------------------------------------


def flagged(ctx, basis):
    fee = FlagExcessive(
        by="dpo",
        at=T0,
        facts="Fourth identical request in eight weeks.",
        fee_cents=1500,
        basis=basis,
        previous_request_at=T0 - timedelta(days=14),
    )
    return opened(ctx, Right.ACCESS).model_copy(update={"fee": fee})


def test_the_fee_notice_speaks_of_a_further_copy_only_when_the_dpo_said_it_is_one():
    ctx = context()
    excessive = flat(email(ctx, flagged(ctx, "manifestly_excessive"), "fee_notice").text)
    assert "copie des mêmes données" not in excessive and "manifestement excessive" in excessive
    assert "Dans l'attente de votre accord, nous ne donnons pas suite à votre demande" in excessive
    copy = flat(email(ctx, flagged(ctx, "further_copy"), "fee_notice").text)
    assert "nouvelle copie des mêmes données, pour la même période" in copy
    assert "Dans l'attente de votre accord, nous ne vous envoyons pas cette copie supplémentaire" in copy


# --- 10. No data: the cookie route ----------------------------------------------------------------


def test_the_no_data_answer_offers_the_cookie_identifier_route_and_thanks_only_who_confirmed():
    ctx = context()
    state = confirm(ctx, discovered(ctx, opened(ctx, Right.ACCESS), {}), T0)
    text = flat(email(ctx, state, "outcome_no_data").text)
    assert "cookies de mesure d'audience" in text and "identifiant du cookie" in text
    assert "article 11, paragraphe 2" in text and "Vous avez confirmé" in text
    authenticated = discovered(ctx, opened(ctx, Right.ACCESS, details={"identity_level": "L0"}), {})
    assert "Vous avez confirmé" not in flat(email(ctx, authenticated, "outcome_no_data").text)  # asked nothing


# --- 12. Heirs get their own receipt --------------------------------------------------------------


DEATH = {"action": "notify_death", "requester_role": "heir", "wants_justification": True}


def test_an_heir_is_acknowledged_as_an_heir_not_as_the_person_the_data_are_about():
    ctx = context()
    state = opened(ctx, Right.POST_MORTEM, details={"post_mortem": DEATH, "identity_level": "L1"})
    state, commands = carry(ctx, state, T0)
    (receipt,) = [c for c in commands if isinstance(c, SendEmail) and c.command_id == "email:receipt"]
    assert receipt.message_type == "heir_receipt"
    text = flat(email(ctx, state, "heir_receipt").text)
    assert "vos données personnelles" not in text and "droit exercé" not in text.lower()
    assert "le décès d'une personne" in text and "héritier ou héritière" in text
    assert "article 85 de la loi Informatique et Libertés" in text


# --- 15. Death certificates and IDs never by plain e-mail ------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_report_closed_without_proof_points_to_the_form_and_its_upload_link_never_to_a_mailbox(language):
    # An heir reported a death, never sent the documents, and the case closed 30 days later.
    ctx = context()
    facts = {"post_mortem": DEATH, "identity_level": "L1"}
    state = discovered(ctx, opened(ctx, Right.POST_MORTEM, language=Language(language), details=facts), {"crm": {}})
    state, _ = carry(ctx, state, T0)
    request = email(ctx, state, "death_proof_request", T0)
    notice = email(ctx, state, "death_proof_missing", T0 + timedelta(days=30))
    for sent in (request, notice):
        for body in (flat(sent.text), flat(re.sub(r"<[^>]+>", "", sent.html))):
            assert "joignant" not in body and "enclosing" not in body  # never "attach them to a message"
    for body in (flat(notice.text), flat(re.sub(r"<[^>]+>", "", notice.html))):
        # The way back is the death form; its upload link comes by e-mail, the documents never do (R14, R16).
        assert "http://dsr.test/request/death" in body
        assert {"fr": "(jamais par e-mail)", "en": "(never by e-mail)"}[language] in body


def test_an_heir_who_says_the_documents_are_at_hand_is_sent_the_upload_link_and_told_they_are_checked_first():
    # The intake's proof flags only announce the documents: the case asks for their upload and a person checks
    # them before anything is erased or disclosed (R39.1, R40); the receipt says so.
    ctx = context()
    announced = {**DEATH, "proof_of_death": True, "proof_of_standing": True}
    state = discovered(ctx, opened(ctx, Right.POST_MORTEM, details={"post_mortem": announced}), {"crm": {}})
    state, commands = carry(ctx, state, T0)
    assert "email:death_proof_request" in [c.command_id for c in commands if isinstance(c, SendEmail)]
    receipt = flat(email(ctx, state, "heir_receipt").text)
    assert "joindre" not in receipt and "Un message distinct vous donne un lien personnel et sécurisé" in receipt
    assert "Rien ne sera effacé ni communiqué avant cette vérification" in receipt
    assert "http://dsr.test/upload/" in email(ctx, state, "death_proof_request").text
