"""E-mail templates (LEGAL §4; R5, R11, R13, R34, R47): every message, both languages."""

import re
from datetime import UTC, date, datetime

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from mail.labels import KEEP_GROUNDS, RIGHT_LABELS, SUPPRESSION_GROUND
from mail.samples import sample_context
from mail.templates import (
    DEFAULT_TEMPLATE_DIR,
    FORM_KINDS,
    LANGUAGES,
    MESSAGE_TYPES,
    OPTIONAL_KEYS,
    EmailRenderer,
    RenderedEmail,
    ground_label,
    longdate,
    longdatetime,
)
from schemas.tasks import KeepGround

pytestmark = pytest.mark.unit

CNIL_ADDRESS = "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07"
CNIL_URL = "https://www.cnil.fr/fr/plaintes"
SUBJECT_FACING = [t for t in MESSAGE_TYPES if not t.startswith("dpo_")]
RIGHT_AWARE = (
    "receipt",
    "verification",
    "outcome_no_data",
    "dpo_deadline_reminder",
    "verification_challenge",
    "verification_reminder",
    "identity_not_verified",
    "id_document_request",
    "extension",
    "fee_notice",
    "refusal",
    "dpo_decision_needed",
)
# The message types of the first version, whose wording the FALSE_PROMISES check guards.
FIRST_VERSION = (
    "form_acknowledgement",
    "receipt",
    "verification",
    "outcome_erasure",
    "outcome_access",
    "outcome_no_data",
)
EVERY_CASE = [(t, lang) for t in MESSAGE_TYPES for lang in LANGUAGES]


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


def render(renderer: EmailRenderer, message_type: str, language: str, **overrides) -> RenderedEmail:
    return renderer.render(message_type, language, {**sample_context(message_type), **overrides})


def parts(email: RenderedEmail) -> tuple[str, str, str]:
    return email.subject, email.text, email.html


def kept_item(ground: str) -> dict:
    return next(e for e in sample_context("outcome_erasure")["kept"] if e["ground"] == ground)


def suppression_item() -> dict:
    return kept_item(SUPPRESSION_GROUND)


def legal_item() -> dict:
    return kept_item("legal_obligation")


def without_optional_keys(message_type: str) -> dict:
    context = sample_context(message_type)
    for key in OPTIONAL_KEYS.get(message_type, ()):
        del context[key]
    return context


EXCLUDED_BASIS = {"category": {"fr": "Notes d'appel", "en": "Call notes"}, "system": "CRM", "reason": "basis"}
EXCLUDED_INFERRED = {"category": {"fr": "Évaluations", "en": "Assessments"}, "system": "ATS", "reason": "inferred"}
EXCLUDED_UNREGISTERED = {"category": None, "system": "erp", "reason": "not_registered", "bases": []}
# Every branch of the message types added for the other rights (one override set per branch).
BRANCHES: dict[str, list[dict]] = {
    "outcome_erasure": [{"recipients_notified": []}],
    "outcome_no_data": [{"confirmed": False}, {"deceased": True, "right": "post_mortem", "confirmed": False}],
    "outcome_access": [{"information": None}],
    "verification_reminder": [{"suspended": False}, {"marketing_stopped": False, "right": "access"}],
    "verification_challenge": [{"suspended": False}, {"marketing_stopped": True, "right": "erasure"}],
    "verification": [{"marketing_stopped": True, "right": "erasure"}],
    "identity_not_verified": [{"marketing_stopped": False, "right": "access"}],
    "challenge_unanswered": [{"closed": True}],
    "receipt": [{"priority": True}, *({"confirmation": c} for c in ("none", "challenge", "review"))],
    "id_document_request": [
        *({"reason": r} for r in ("no_channel_on_file", "sensitive_data")),
        {"suspended": False},
    ],
    "extension": [
        {"explanation": ""},
        {"deceased": True},
        {"reasons": ["volume_of_data", "redaction_needed", "exceptional_surge"]},
    ],
    "fee_notice": [{"basis": "manifestly_excessive", "amount_cents": 123456}],
    "refusal": [
        {"deceased": True},
        *(
            {"partial": True, "reason": r}
            for r in ("manifestly_unfounded", "legal_obligation", "rights_of_others", "other")
        ),
    ],
    "outcome_rectification": [
        {"unchanged": True, "changes": [], "updated": []},
        {"failed": [{"fr": "Facturation", "en": "Billing"}]},
        {"failed": [{"fr": "Facturation", "en": "Billing"}], "changes": [], "updated": []},
        {"recipients_notified": []},
        {"changes": [{"field": f, "old": "A", "new": "B"} for f in ("first_name", "last_name")]},
    ],
    "outcome_restriction": [
        {"ground": g, "recipients_notified": []} for g in ("unlawful_processing", "legal_claims", "objection_pending")
    ],
    "restriction_lift_notice": [{"reason": r} for r in ("objection_decided", "legal_claims_ended", "person_request")],
    "outcome_portability": [
        {"excluded": []},
        {"excluded": [{**EXCLUDED_INFERRED, "bases": []}, EXCLUDED_UNREGISTERED]},
    ],
    "portability_not_applicable": [
        {
            "access_offered": False,
            "excluded": [{**EXCLUDED_BASIS, "bases": ["legitimate_interest", "legal_obligation"]}],
        },
        {"excluded": [{**EXCLUDED_INFERRED, "bases": []}, EXCLUDED_UNREGISTERED]},
    ],
    "outcome_objection": [
        {"suppression_until": None, "profiling_stopped": False},
        {"suppression_kept": False, "channels": []},
    ],
    "outcome_consent_withdrawal": [{"erased": False, "channels": []}],
    "objection_decision": [
        {"upheld": True, "erased": False, "explanation": ""},
        {
            "upheld": False,
            "erased": False,
            "explanation": {
                "fr": "Les notes d'appel sont nécessaires à la défense de nos droits dans le litige en cours.",
                "en": "The call notes are needed to defend our rights in the ongoing dispute.",
            },
        },
    ],
    "directive_recorded": [{"executor_named": False}],
    "death_proof_request": [{"requester_role": "executor"}, {"reminder": True, "suspended": False}],
    "heir_receipt": [{"proof_announced": True, "requester_role": "executor"}, {"action": "estate_access"}],
    "estate_access": [{"categories": []}],
    "heir_justification": [
        {"directives_applied": True, "kept": []},
        {"kept": [{**legal_item(), "until": None}, suppression_item()]},
    ],
    "dpo_decision_needed": [
        *({"kind": k} for k in ("directives_on_file", "identity_review", "death_notified", "estate_access")),
        {"kind": "partial_refusal_due", "deadline": date(2027, 6, 7)},
    ],
    "dpo_deadline_reminder": [{"extended": False, "deadline": date(2027, 4, 5)}],
}


def variants(renderer: EmailRenderer):
    """Every branch of the templates: each form kind, right, days-left band, empty `kept`."""
    for message_type, language in EVERY_CASE:
        yield render(renderer, message_type, language), language
    for language in LANGUAGES:
        for kind in FORM_KINDS:
            yield render(renderer, "form_acknowledgement", language, form_kind=kind), language
        for right in RIGHT_LABELS:
            for message_type in RIGHT_AWARE:
                yield render(renderer, message_type, language, right=right), language
        for days_left in (-3, -1, 0, 1, 12):
            yield render(renderer, "dpo_deadline_reminder", language, days_left=days_left), language
        yield render(renderer, "outcome_erasure", language, kept=[]), language
        yield render(renderer, "outcome_erasure", language, kept=[suppression_item()]), language
        yield render(renderer, "outcome_erasure", language, kept=[legal_item()]), language
        yield render(renderer, "dpo_mail_parked", language, attempts=1), language
        for message_type in OPTIONAL_KEYS:
            yield renderer.render(message_type, language, without_optional_keys(message_type)), language
        for message_type, branches in BRANCHES.items():
            for overrides in branches:
                yield render(renderer, message_type, language, **overrides), language


# --- every message, both languages -------------------------------------------------------


@pytest.mark.parametrize(("message_type", "language"), EVERY_CASE)
def test_every_message_renders_with_its_sample_context(renderer, message_type, language):
    email = render(renderer, message_type, language)

    assert email.subject and "\n" not in email.subject
    assert email.text.strip()
    assert email.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}"' in email.html
    assert f"<title>{escape(email.subject)}</title>" in email.html


@pytest.mark.parametrize(("message_type", "language"), EVERY_CASE)
def test_the_reference_appears_in_subject_text_and_html(renderer, message_type, language):
    context = sample_context(message_type)
    reference = context.get("case_reference") or context["reference"]

    for part in parts(render(renderer, message_type, language)):
        assert reference in part


def test_each_message_type_has_subject_text_and_html_in_each_language():
    for message_type, language in EVERY_CASE:
        for part in ("subject", "txt", "html"):
            assert (DEFAULT_TEMPLATE_DIR / message_type / f"{language}.{part}.j2").is_file()


# --- a missing value fails loudly --------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "key"),
    [(t, k) for t in MESSAGE_TYPES for k in sample_context(t) if k not in OPTIONAL_KEYS.get(t, ())],
)
def test_a_missing_context_key_raises(renderer, message_type, key):
    context = sample_context(message_type)
    del context[key]

    for language in LANGUAGES:
        with pytest.raises(UndefinedError):
            renderer.render(message_type, language, context)


def test_a_missing_key_inside_a_list_item_raises(renderer):
    context = sample_context("outcome_erasure")
    del context["systems"][0]["erased_items"]

    with pytest.raises(UndefinedError):
        renderer.render("outcome_erasure", "fr", context)


def test_unknown_message_type_or_language_names_the_valid_ones(renderer):
    with pytest.raises(ValueError, match="outcome_access"):
        renderer.render("outcome_teleportation", "fr", sample_context("receipt"))
    with pytest.raises(ValueError, match="fr, en"):
        renderer.render("receipt", "de", sample_context("receipt"))
    with pytest.raises(ValueError, match="dpo_mail_parked"):
        sample_context("nope")


def test_unknown_right_ground_or_form_kind_raise_instead_of_printing_a_code(renderer):
    with pytest.raises(ValueError, match="erasure"):
        render(renderer, "receipt", "fr", right="forget_me")
    kept = [{**sample_context("outcome_erasure")["kept"][0], "ground": "we_like_it"}]
    with pytest.raises(ValueError, match="legal_obligation"):
        render(renderer, "outcome_erasure", "en", kept=kept)
    with pytest.raises(ValueError, match="job_application"):
        render(renderer, "form_acknowledgement", "fr", form_kind="newsletter")


def test_the_context_cannot_override_the_language_or_the_subject(renderer):
    context = sample_context("receipt")
    with pytest.raises(ValueError, match="language"):
        renderer.render("receipt", "fr", {**context, "language": "en"})
    with pytest.raises(ValueError, match="subject"):
        renderer.render("receipt", "fr", {**context, "subject": "Hi"})
    # The same language passed twice is harmless.
    assert renderer.render("receipt", "fr", {**context, "language": "fr"}).subject


# --- dates in the reader's language ------------------------------------------------------


def test_long_dates_follow_the_language():
    assert longdate(date(2027, 4, 5), "fr") == "5 avril 2027"
    assert longdate(date(2027, 4, 1), "fr") == "1er avril 2027"
    assert longdate(date(2027, 8, 11), "fr") == "11 août 2027"
    assert longdate(date(2027, 4, 5), "en") == "5 April 2027"
    assert longdate(date(2027, 4, 1), "en") == "1 April 2027"


def test_date_times_are_shown_in_paris_time():
    # 23:30 UTC on 31 Dec is already New Year's Day in Paris (UTC+1 in winter).
    instant = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert longdatetime(instant, "fr") == "1er janvier 2027 à 0 h 30 (heure de Paris)"
    assert longdatetime(instant, "en") == "1 January 2027 at 00:30 (Paris time)"
    assert longdate(instant, "fr") == "1er janvier 2027"
    with pytest.raises(TypeError):
        longdate("2027-04-05", "fr")


@pytest.mark.parametrize(
    ("language", "received", "deadline"),
    [("fr", "5 mars 2027", "5 avril 2027"), ("en", "5 March 2027", "5 April 2027")],
)
def test_the_acknowledgement_states_receipt_and_deadline(renderer, language, received, deadline):
    # GS-01 / V1: received 5 Mar 2027, D1 5 Apr 2027 (R5).
    email = render(renderer, "receipt", language)

    for part in (email.text, email.html):
        assert received in part and deadline in part
    assert "au plus tard le 5 avril 2027" in render(renderer, "receipt", "fr").text


@pytest.mark.parametrize(
    ("language", "completed", "until"),
    [("fr", "1er avril 2027", "31 décembre 2036"), ("en", "1 April 2027", "31 December 2036")],
)
def test_the_erasure_outcome_dates_erasure_and_kept_items(renderer, language, completed, until):
    email = render(renderer, "outcome_erasure", language)

    for part in (email.text, email.html):
        assert completed in part and until in part


@pytest.mark.parametrize(("language", "expiry"), [("fr", "19 avril 2027"), ("en", "19 April 2027")])
def test_the_access_outcome_gives_the_expiring_download_link(renderer, language, expiry):
    context = sample_context("outcome_access")
    email = render(renderer, "outcome_access", language)

    assert context["download_url"] in email.text
    assert context["download_url"].replace("&", "&amp;") in email.html
    for part in (email.text, email.html):
        assert expiry in part


# --- HTML escapes values; text does not --------------------------------------------------


def test_html_escapes_values_and_text_keeps_them_verbatim(renderer):
    hostile = "<script>alert(1)</script>"
    controller = {**sample_context("outcome_erasure")["controller"], "name": hostile}
    systems = [{"name": hostile, "erased_items": 2}]

    for language in LANGUAGES:
        email = render(renderer, "outcome_erasure", language, controller=controller, systems=systems)
        assert "<script>" not in email.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
        assert hostile in email.text and "&lt;" not in email.text


def test_a_line_break_in_a_value_cannot_reach_the_subject_header(renderer):
    email = render(renderer, "receipt", "en", case_reference="DSR-1\r\nBcc: someone@example.org")

    assert "\n" not in email.subject and "\r" not in email.subject


# --- CNIL complaint and judicial remedy (R11, R34, §4.1 (f)) ---------------------------


def has_remedies(email: RenderedEmail) -> bool:
    return all(CNIL_ADDRESS in part and CNIL_URL in part for part in (email.text, email.html))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", ["outcome_no_data", "outcome_access"])
def test_the_cnil_complaint_right_is_stated(renderer, message_type, language):
    email = render(renderer, message_type, language)

    assert has_remedies(email)
    assert "79" in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_erasure_gives_remedies_only_when_something_was_kept(renderer, language):
    # GS-06: invoices and a dispute file kept = partial action, so CNIL + judicial remedy.
    partial = render(renderer, "outcome_erasure", language)
    assert has_remedies(partial)
    assert "17" in partial.text

    # GS-05: everything erased = full compliance, no remedies paragraph.
    full = render(renderer, "outcome_erasure", language, kept=[])
    for part in parts(full):
        assert "Fontenoy" not in part and "cnil.fr" not in part


def test_a_kept_item_without_end_date_says_so(renderer):
    email = render(renderer, "outcome_erasure", "fr")

    assert "sans date de fin fixée à ce jour" in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_suppression_list_entry_alone_is_not_a_partial_refusal(renderer, language):
    # R45: the keyed hash that honours the objection is not data we refuse to erase.
    email = render(renderer, "outcome_erasure", language, kept=[suppression_item()])

    assert not has_remedies(email)
    for part in parts(email):
        assert "Fontenoy" not in part and "cnil.fr" not in part
        assert "artial" not in part and "partiel" not in part
    for part in (email.text, email.html.replace("&#39;", "'")):
        assert ground_label(SUPPRESSION_GROUND, language) in part
    heading = {"fr": "DONNÉES CONSERVÉES", "en": "DATA KEPT"}[language]
    assert heading not in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_legal_obligation_item_is_a_partial_refusal_with_remedies(renderer, language):
    email = render(renderer, "outcome_erasure", language, kept=[legal_item()])

    assert has_remedies(email)
    assert {"fr": "partiel", "en": "Partial"}[language] in email.subject
    assert ground_label(SUPPRESSION_GROUND, language) not in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_suppression_entries_are_listed_apart_from_the_refusals(renderer, language):
    # The sample keeps invoices, a dispute file and the suppression-list hash.
    email = render(renderer, "outcome_erasure", language)
    heading = {"fr": "DONNÉES CONSERVÉES ET MOTIFS", "en": "DATA KEPT AND WHY"}[language]
    refusals = email.text.split(heading)[1]
    label = ground_label(SUPPRESSION_GROUND, language)

    assert has_remedies(email)
    assert label in email.text and label not in refusals
    assert "F-2025-0117" in refusals


def test_every_keep_ground_of_the_wire_schema_has_a_label():
    assert set(KEEP_GROUNDS) == {ground.value for ground in KeepGround}
    for ground in KeepGround:
        for language in LANGUAGES:
            assert ground_label(ground, language)


def test_a_kept_item_without_ground_raises(renderer):
    kept = [{k: v for k, v in suppression_item().items() if k != "ground"}]

    with pytest.raises(UndefinedError):
        render(renderer, "outcome_erasure", "fr", kept=kept)


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        (date(2036, 12, 31), "jusqu'au 31 décembre 2036"),
        (datetime(2036, 12, 31, 23, 30, tzinfo=UTC), "jusqu'au 1er janvier 2037"),
        (None, "sans date de fin fixée à ce jour"),
    ],
)
def test_until_may_be_a_date_a_datetime_or_none(renderer, until, expected):
    # The pipeline converts the wire's ISO strings before rendering.
    email = render(renderer, "outcome_erasure", "fr", kept=[{**legal_item(), "until": until}])

    assert expected in email.text


def test_until_as_an_unconverted_string_is_refused(renderer):
    with pytest.raises(TypeError):
        render(renderer, "outcome_erasure", "fr", kept=[{**legal_item(), "until": "2036-12-31"}])


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [
        (
            datetime(2027, 3, 8, 13, 30, tzinfo=UTC),
            "8 mars 2027 à 14 h 30 (heure de Paris)",
        ),
        (datetime(2027, 3, 8, 14, 30), "8 mars 2027 à 14 h 30"),
    ],
)
def test_issued_at_is_a_datetime(renderer, issued_at, expected):
    email = render(renderer, "dpo_task_overdue", "fr", issued_at=issued_at)

    assert expected in email.text and expected in email.html


# --- what each message must say ----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_verification_asks_for_no_identity_document(renderer, language):
    email = render(renderer, "verification", language)
    words = {
        "fr": ("aucune pièce d'identité", "ignorez ce message", "12 mars 2027"),
        "en": ("not asking for any identity document", "ignore this e-mail", "12 March 2027"),
    }

    for expected in words[language]:
        assert expected in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_receipt_keeps_the_stated_deadline_when_confirmation_is_asked(renderer, language):
    # Level L1 confirmation (address on file) does not suspend the clock; an ID the DPO may still ask for can
    # (R12), and the receipt says so rather than promise a date that may move.
    expected = {
        "fr": ("Cette confirmation ne change pas la date de notre réponse.", "vous indiquerions la nouvelle date."),
        "en": ("That confirmation does not\nchange the date of our reply.", "give you the new date."),
    }[language]
    text = render(renderer, "receipt", language).text
    assert all(sentence in text for sentence in expected)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_verification_says_nothing_happens_before_confirmation(renderer, language):
    email = render(renderer, "verification", language)
    expected = {
        "fr": (
            "Nous ne pouvons pas donner suite à votre demande tant que vous ne l'avez",
            "date limite indiquée dans notre accusé de réception",
        ),
        "en": (
            "We cannot act on your request until you have confirmed it.",
            "deadline stated in our acknowledgement of\nreceipt",
        ),
    }[language]

    for sentence in expected:
        assert sentence in email.text
    assert expected[0] in email.html


@pytest.mark.parametrize("information", [True, False], ids=["with_15_1_block", "without"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_access_outcome_describes_the_archive_and_points_to_the_privacy_policy(renderer, language, information):
    context = sample_context("outcome_access") if information else without_optional_keys("outcome_access")
    email = renderer.render("outcome_access", language, context)
    text = re.sub(r"[ \n]+", " ", email.text)  # line breaks move with the wording around
    url = context["controller"]["privacy_url"]
    body = {
        "fr": (
            "un fichier par système",
            "JSON",
            "politique de confidentialité\u00a0: " + url,
            "rectifier",
            "effacer",
            "limiter",
            "vous opposer",
        ),
        "en": ("one file per system", "JSON", "privacy policy: " + url, "rectify", "erase", "restrict", "object"),
    }[language]

    for expected in body:
        assert expected in text
    assert f'href="{url}"' in email.html.split('<td style="padding:16px 28px')[0]
    assert has_remedies(email)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_erasure_outcome_mentions_the_minimal_case_record(renderer, language):
    expected = {"fr": "trace minimale", "en": "minimal record"}[language]

    assert expected in render(renderer, "outcome_erasure", language).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_parked_mail_alert_explains_the_retry_and_hides_addresses(renderer, language):
    email = render(renderer, "dpo_mail_parked", language)

    assert "dsr mail retry DSR-2027-0042" in email.text
    assert "dsr mail retry DSR-2027-0042" in email.html
    for part in parts(email):
        assert "jeanne.exemple@example.org" not in part


# --- wording that must never appear ------------------------------------------------------


# R47: the 2016 EU-US framework invalidated by C-311/18. Spelt in two halves so that a
# repository-wide search for the name finds no file at all.
INVALIDATED_FRAMEWORK = re.compile("privacy" + r"[\s\-]*" + "shield", re.IGNORECASE)


def test_no_output_ever_names_the_invalidated_eu_us_framework(renderer):
    for email, _ in variants(renderer):
        for part in parts(email):
            assert not INVALIDATED_FRAMEWORK.search(part)


def test_the_framework_check_would_catch_it():
    assert INVALIDATED_FRAMEWORK.search("relies on the " + "Privacy" + "\u00a0" + "Shield")


# What the first version's messages must not claim: the L1 confirmation does not suspend the
# clock (the receipt's one exception, an ID asked for later, is true: a suspension and the new
# date it gives, R12), it sends no reminder of its own, and without the optional `information` and
# `recipients_notified` values the access and erasure outcomes carry no Art. 15(1)(a)-(h)
# block and no Art. 19 statement. The types that do these things are checked in
# test_email_templates_rights.py.
FALSE_PROMISES = re.compile(
    r"suspen|nouvelle date|new date|un rappel|reminder|article 19|art\.\s*19|informés|informed"
    r"|prévues par l'article 15|set out in Article 15|décision automatisée|decision-making",
    re.IGNORECASE,
)


def first_version_variants(renderer: EmailRenderer):
    def first(message_type: str, language: str, **overrides) -> RenderedEmail:
        context = {**without_optional_keys(message_type), **overrides}
        return renderer.render(message_type, language, context)

    for language in LANGUAGES:
        for message_type in FIRST_VERSION:
            yield first(message_type, language)
        for right in RIGHT_LABELS:
            for message_type in ("receipt", "verification", "outcome_no_data"):
                yield first(message_type, language, right=right)
        for kept in ([], [suppression_item()], [legal_item()]):
            yield first("outcome_erasure", language, kept=kept)


# The receipt's sentence on an ID the DPO may ask for after an L1 confirmation: that one may suspend.
ID_REQUEST_EXCEPTION = re.compile(r"(Seule\s+exception|The\s+only\s+exception).*?(nouvelle|new)\s+date\.", re.DOTALL)


def test_first_version_outputs_promise_nothing_the_pipeline_does_not_do(renderer):
    for email in first_version_variants(renderer):
        for part in parts(email):
            found = FALSE_PROMISES.search(ID_REQUEST_EXCEPTION.sub("", part.replace("&#39;", "'")))
            assert not found, (email.subject, found)


ENGLISH_WORDS = re.compile(r"\b(deadline|request|your|please|the|data)\b", re.IGNORECASE)
FRENCH_WORDS = re.compile(r"\b(votre|vous|dossier|demande|données)\b", re.IGNORECASE)
# The `dsr case` commands shown to the DPO are the CLI's own words (`request-id`) in both languages.
CLI_COMMAND = re.compile(r"dsr case [^\n<]*")
# Addresses are not prose: the privacy center's paths (`/request/death`) are the same in both languages.
URL = re.compile(r"https?://[^\s<>\"()]+")


def test_french_outputs_contain_no_english_and_english_outputs_no_french(renderer):
    for email, language in variants(renderer):
        leaking = ENGLISH_WORDS if language == "fr" else FRENCH_WORDS
        for part in parts(email):
            prose = URL.sub("", CLI_COMMAND.sub("", part))
            assert not leaking.search(prose), (language, leaking.search(prose), email.subject)


def test_french_punctuation_uses_no_break_spaces(renderer):
    # French typography: a no-break space before : ; ? ! so they never start a line.
    for email, language in variants(renderer):
        if language == "fr":
            for part in parts(email):
                assert not re.search(r" [:;?!](?!=)", part), email.subject
