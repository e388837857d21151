"""E-mails for identity, deadlines, fees, refusals, the other rights and death (LEGAL §3-§4)."""

import html
import re
import shlex
import typing
from datetime import date

import click
import pytest
from markupsafe import escape

from dsr.case_cli import case
from mail.labels import (
    COUNTRY_LABELS,
    DECISION_COMMANDS,
    DECISION_KINDS,
    FIELD_LABELS,
    ID_REASONS,
    KEEP_GROUNDS,
    LABEL_TABLES,
    LIFT_REASONS,
    REASON_LABELS,
    REFUSAL_REASONS,
    REQUESTER_ROLES,
    SUPPRESSION_GROUND,
)
from mail.samples import sample_context
from mail.templates import (
    DEFAULT_TEMPLATE_DIR,
    LANGUAGES,
    MESSAGE_TYPES,
    OPTIONAL_KEYS,
    EmailRenderer,
    RenderedEmail,
    country_label,
    decision_command,
    money,
)
from schemas.decisions import ExtensionReason, LiftReason, RefusalReason, RequestId
from schemas.intake import PostMortem, Rectification
from tests.unit.test_email_templates import (
    BRANCHES,
    INVALIDATED_FRAMEWORK,
    has_remedies,
    legal_item,
    parts,
    render,
    suppression_item,
    without_optional_keys,
)

pytestmark = pytest.mark.unit

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Only these ask the person for something while the clock stands still (R12, §2.4, §3.4), when asked in
# time; deadline_update gives the new date once it has moved.
SUSPENDING = ("deadline_update",)
SUSPENDING_IF_ASKED_IN_TIME = (
    "verification_challenge",
    "id_document_request",
    "verification_reminder",
    "death_proof_request",
)


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


def flat(text: str) -> str:
    """The text with its line breaks undone, so a phrase can be found wherever it wraps."""
    return re.sub(r"[ \n]+", " ", text)


def readable(email: RenderedEmail) -> str:
    """The HTML part as a reader sees it: no tags, no entities, no line breaks."""
    return flat(html.unescape(re.sub(r"<[^>]+>", "", email.html)))


def cases():
    """(message type, language, context) for every sample and every branch."""
    for message_type in MESSAGE_TYPES:
        for language in LANGUAGES:
            yield message_type, language, sample_context(message_type)
            for overrides in BRANCHES.get(message_type, []):
                yield message_type, language, {**sample_context(message_type), **overrides}
            if message_type in OPTIONAL_KEYS:
                yield message_type, language, without_optional_keys(message_type)
    for language in LANGUAGES:
        for kept in ([], [suppression_item()], [legal_item()]):
            yield "outcome_erasure", language, {**sample_context("outcome_erasure"), "kept": kept}


def needs_remedies(message_type: str, context: dict) -> bool:
    """R11, §4: any outcome that is not full compliance names the CNIL and the courts."""
    if message_type in (
        "identity_not_verified",
        "fee_notice",
        "refusal",
        "restriction_lift_notice",
        "portability_not_applicable",
        "outcome_no_data",
        "outcome_access",
    ):
        return True
    if message_type == "objection_decision":
        return not context["upheld"]
    if message_type == "outcome_rectification":
        return bool(context["failed"])  # a system that could not apply the change (R11)
    if message_type == "outcome_portability":
        return bool(context["excluded"])  # R28, R11: anything left out is a partial refusal
    if message_type == "estate_access":
        return True  # the law limits what heirs obtain: the rest is not disclosed (LIL 85-II, R11)
    if message_type == "death_proof_missing":
        return True  # closed without acting (R11; LIL 85)
    if message_type == "challenge_unanswered":
        return context["closed"]  # closing without acting is a no-action decision (R11)
    if message_type == "outcome_erasure":
        return any(item["ground"] != SUPPRESSION_GROUND for item in context["kept"])
    return False


# --- across every message type -----------------------------------------------------------


def test_remedies_appear_exactly_where_the_answer_is_not_full_compliance(renderer):
    for message_type, language, context in cases():
        if message_type.startswith("dpo_"):
            continue
        email = renderer.render(message_type, language, context)
        expected = needs_remedies(message_type, context)
        assert has_remedies(email) is expected, (message_type, language, context)
        if not expected:
            assert not any("Fontenoy" in part or "cnil.fr" in part for part in parts(email))


def test_only_the_messages_that_wait_for_the_person_say_the_deadline_is_suspended(renderer):
    # L2 challenge, ID document and death proof suspend the clock when they leave within 3 working days;
    # an L1 reminder does not. Every receipt that announces a check says an ID asked for may suspend it.
    for message_type, language, context in cases():
        email = renderer.render(message_type, language, context)
        suspends = (
            message_type in SUSPENDING
            or (message_type in SUSPENDING_IF_ASKED_IN_TIME and context["suspended"])
            or (message_type == "receipt" and context["confirmation"] != "none")  # may suspend
            or message_type == "heir_receipt"  # proof may be awaited: "we will tell you whether ... suspended"
        )
        for part in (email.text, email.html):
            assert bool(re.search("suspen", part, re.IGNORECASE)) is suspends, message_type


def test_no_template_and_no_output_names_the_invalidated_eu_us_framework(renderer):
    # R47: C-311/18 invalidated it; recipients in the US rely on the DPF or on SCCs.
    for path in DEFAULT_TEMPLATE_DIR.rglob("*.j2"):
        assert not INVALIDATED_FRAMEWORK.search(path.read_text(encoding="utf-8")), path
    for message_type, language, context in cases():
        for part in parts(renderer.render(message_type, language, context)):
            assert not INVALIDATED_FRAMEWORK.search(part), message_type


@pytest.mark.parametrize(
    ("message_type", "key", "overrides"),
    [
        ("refusal", "explanation", {}),
        ("extension", "explanation", {}),
        ("objection_decision", "explanation", {"upheld": False}),
        ("objection_decision", "explanation", {"upheld": True}),
        ("fee_notice", "facts", {}),
        ("dpo_decision_needed", "detail", {}),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_free_text_from_the_dpo_is_escaped_in_html_and_verbatim_in_text(
    renderer, message_type, key, overrides, language
):
    # Free text is a plain string or a {"fr", "en"} mapping; both reach the page escaped.
    for value in (HOSTILE, {"fr": HOSTILE, "en": HOSTILE}):
        email = render(renderer, message_type, language, **overrides, **{key: value})

        assert "<script>" not in email.html and ESCAPED in email.html
        assert HOSTILE in email.text and "&lt;" not in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_values_from_other_systems_are_escaped_too(renderer, language):
    changes = [{"field": "last_name", "old": "<b>Dupont</b>", "new": HOSTILE}]
    information = {**sample_context("outcome_access")["information"]}
    information["recipients"] = [{"name": HOSTILE, "country": "FR", "third_country": False}]

    for email in (
        render(renderer, "outcome_rectification", language, changes=changes),
        render(renderer, "outcome_restriction", language, recipients_notified=[HOSTILE]),
        render(renderer, "outcome_erasure", language, recipients_notified=[HOSTILE]),
        render(renderer, "outcome_access", language, information=information),
    ):
        assert "<script>" not in email.html and ESCAPED in email.html
        assert HOSTILE in email.text


@pytest.mark.parametrize("message_type", list(OPTIONAL_KEYS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_optional_key_left_out_or_empty_renders_as_before(renderer, message_type, language):
    empty = {"priority": False, "recipients_notified": [], "information": None}
    context = without_optional_keys(message_type)
    absent = renderer.render(message_type, language, context)
    emptied = renderer.render(message_type, language, {**context, **{k: empty[k] for k in OPTIONAL_KEYS[message_type]}})

    assert absent == emptied


# --- label tables and filters ------------------------------------------------------------


def test_every_code_of_the_decision_schemas_has_a_label():
    assert set(REASON_LABELS) == {reason.value for reason in ExtensionReason}
    assert set(REFUSAL_REASONS) == {reason.value for reason in RefusalReason}
    assert set(LIFT_REASONS) == {reason.value for reason in LiftReason}
    assert set(ID_REASONS) == set(typing.get_args(RequestId.model_fields["reason"].annotation))
    roles = typing.get_args(PostMortem.model_fields["requester_role"].annotation)[0]
    assert set(REQUESTER_ROLES) == set(typing.get_args(roles))
    assert set(DECISION_COMMANDS) == set(DECISION_KINDS)
    assert set(FIELD_LABELS) == set(Rectification.model_fields)  # the only fields R25 changes


def test_every_label_exists_in_both_languages_with_french_typography():
    tables = [table for table, _ in LABEL_TABLES.values()] + [COUNTRY_LABELS]
    for table in tables:
        for code, labels in table.items():
            assert set(labels) == set(LANGUAGES) and all(labels.values()), code
            assert not re.search(r" [:;?!]", labels["fr"]), labels["fr"]
            assert not INVALIDATED_FRAMEWORK.search(labels["fr"] + labels["en"])


@pytest.mark.parametrize(
    ("message_type", "key", "bad_value", "named"),
    [
        # "A lot of work" is not a reason to extend (R10): it has no code.
        ("extension", "reasons", ["lots_of_work"], "volume_of_data"),
        ("refusal", "reason", "we_would_rather_not", "manifestly_unfounded"),
        ("fee_notice", "basis", "convenience", "further_copy"),
        ("id_document_request", "reason", "always", "sensitive_data"),
        ("outcome_rectification", "changes", [{"field": "email", "old": "a", "new": "b"}], "phone"),
        ("outcome_restriction", "ground", "mood", "accuracy_contested"),
        ("restriction_lift_notice", "reason", "mood", "accuracy_verified"),
        (
            "portability_not_applicable",
            "excluded",
            [{"category": None, "system": "crm", "reason": "basis", "bases": ["vibes"]}],
            "legitimate_interest",
        ),
        ("outcome_objection", "channels", ["fax"], "post"),
        ("death_proof_request", "requester_role", "cousin", "executor"),
        ("dpo_decision_needed", "kind", "lunch", "objection_general"),
    ],
)
def test_an_unknown_code_raises_and_names_the_valid_ones(renderer, message_type, key, bad_value, named):
    with pytest.raises(ValueError, match=named):
        render(renderer, message_type, "fr", **{key: bad_value})


def test_amounts_are_written_the_way_each_language_writes_money():
    assert money(1500, "fr") == "15,00\u00a0€"
    assert money(1500, "en") == "€15.00"
    assert money(123456, "fr") == "1\u00a0234,56\u00a0€"
    assert money(123456, "en") == "€1,234.56"
    assert money(5, "fr") == "0,05\u00a0€"
    for wrong in (15.0, "1500", True):
        with pytest.raises(TypeError):
            money(wrong, "fr")
    with pytest.raises(ValueError):
        money(-100, "en")


def test_countries_are_named_and_an_unlisted_code_is_shown_as_it_is():
    assert country_label("US", "fr") == "États-Unis"
    assert country_label("US", "en") == "United States"
    assert country_label("ZZ", "en") == "ZZ"


def test_each_decision_kind_names_its_command_with_the_reference():
    for kind in DECISION_KINDS:
        command = decision_command(kind, "DSR-2027-0042")
        assert command.startswith("dsr case ") and "DSR-2027-0042" in command
    with pytest.raises(ValueError, match="identity_review"):
        decision_command("lunch", "DSR-2027-0042")


@pytest.mark.parametrize("kind", list(DECISION_COMMANDS))
def test_each_decision_command_is_one_the_case_cli_accepts(kind):
    # Parsed against dsr/case_cli.py: the subcommand, its REF argument, every --option, the values
    # offered for a choice, and every required option (`a|b` is a choice, `[...]` optional).
    steps = decision_command(kind, "DSR-2027-0042").split(" → ")
    for step in steps:
        words = shlex.split(step)
        assert words[:2] == ["dsr", "case"] and words[2] in case.commands, step
        command = case.commands[words[2]]
        assert [p.name for p in command.params if isinstance(p, click.Argument)] == ["ref"], step
        assert words[3] == "DSR-2027-0042", step
        options = {
            name: param
            for param in command.params
            if isinstance(param, click.Option)
            for name in (*param.opts, *param.secondary_opts)
        }
        shown: set[str] = set()
        for position, word in enumerate(words[4:], start=4):
            flags = re.findall(r"--[a-z][a-z-]*", word)
            for flag in flags:
                assert flag in options, f"{words[2]} has no option {flag}"
                shown.add(flag)
            if len(flags) == 1 and not options[flags[0]].is_flag:
                value = words[position + 1].strip("[]")
                if isinstance(options[flags[0]].type, click.Choice):
                    assert set(value.split("|")) <= set(options[flags[0]].type.choices), step
        for param in command.params:
            if isinstance(param, click.Option) and param.required:
                assert set(param.opts) & shown, f"{step}: the required {param.opts[0]} is missing"


# --- identity (LEGAL §3.2-3.4) -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_l2_challenge_asks_for_no_document_and_suspends_the_clock(renderer, language):
    # GS-02: a request from an unknown address; we write to the address on file.
    email = render(renderer, "verification_challenge", language)
    expected = {
        "fr": (
            "aucune pièce d'identité",
            "Ouvrir le lien ne suffit pas",
            "ignorez ce message",
            "aucune de vos données ne sera communiquée",
            "envoyée uniquement à cette adresse e-mail",
            "est suspendu",
            "article 12, paragraphe 6",
            "2019-536",
            "1er avril 2027",
        ),
        "en": (
            "not asking for any identity document",
            "Opening the link alone confirms nothing",
            "ignore this e-mail",
            "none of your data will be disclosed",
            "only be sent to this e-mail address",
            "is suspended",
            "Article 12(6)",
            "2019-536",
            "1 April 2027",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase
    assert sample_context("verification_challenge")["verify_url"] in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reminder_mentions_the_suspension_only_at_level_l2(renderer, language):
    # GS-03: reminder at challenge + 14 days, closure on 1 April 2027.
    l2 = render(renderer, "verification_reminder", language)
    l1 = render(renderer, "verification_reminder", language, suspended=False)
    closes = {"fr": "1er avril 2027", "en": "1 April 2027"}[language]

    assert "suspen" in l2.text and "suspen" not in l1.text
    for email in (l1, l2):
        assert closes in email.text
        assert sample_context("verification_reminder")["verify_url"] in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unverified_request_is_closed_with_ways_to_be_identified(renderer, language):
    # GS-03 / GS-04: nothing disclosed; a cookie ID or a quote number would let us identify.
    text = flat(render(renderer, "identity_not_verified", language, marketing_stopped=False, right="access").text)
    expected = {
        "fr": (
            "2 mars 2027",
            "1er avril 2027",
            "rien communiqué, modifié ni effacé",
            "numéro de devis ou de facture",
            "identifiant du cookie",
            "refaire votre demande à tout moment",
            "nouvelle demande",
            "article 11, paragraphe 2",
        ),
        "en": (
            "2 March 2027",
            "1 April 2027",
            "disclosed, changed and erased nothing",
            "quote or invoice number",
            "identifier of the cookie",
            "make the request again at any time",
            "new request",
            "Article 11(2)",
        ),
    }[language]

    for phrase in expected:
        assert phrase in text, phrase


@pytest.mark.parametrize("reason", list(ID_REASONS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_id_request_says_why_what_is_enough_and_that_the_copy_is_deleted(renderer, language, reason):
    # L3 (R14, R16): an ID copy only on reasonable doubt, redacted, deleted after the check.
    email = render(renderer, "id_document_request", language, reason=reason)
    expected = {
        "fr": (
            ID_REASONS[reason]["fr"],
            "doute raisonnable",
            "portant votre signature",
            "sauf votre nom, la date de validité du titre et l'autorité qui l'a délivré",
            "supprimerons dès la vérification faite",
            "«\u00a0identité vérifiée le",
            "suspendu jusqu'à la réception",
            "dpo@maison-services.example",
        ),
        "en": (
            ID_REASONS[reason]["en"],
            "reasonable doubt",
            "bearing your signature",
            "except your name, the validity date and the issuing authority",
            "delete it as soon as the check is done",
            '"identity checked on',
            "suspended until we receive",
            "dpo@maison-services.example",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase


# --- deadlines, fees and refusals (R10, R11, R19-R21) ------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_extension_gives_reasons_the_new_date_and_keeps_refusals_to_the_first(renderer, language):
    # GS-13: received Sunday 31 Jan 2027, D1 Mon 1 Mar, D3 28 Apr 2027.
    email = render(renderer, "extension", language)
    text = flat(email.text)
    dates = {
        "fr": ("28 avril 2027", "informerons au plus tard le 1er mars 2027"),
        "en": ("28 April 2027", "we will tell you by 1 March 2027"),
    }[language]
    explanation = sample_context("extension")["explanation"][language]

    for phrase in (
        *dates,
        explanation,
        REASON_LABELS["spread_across_systems"][language],
        REASON_LABELS["several_requests"][language],
    ):
        assert phrase in text and phrase in readable(email), phrase
    # An empty explanation adds nothing.
    assert explanation not in render(renderer, "extension", language, explanation="").text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_fee_notice_asks_before_charging_and_offers_to_withdraw(renderer, language):
    # GS-14: a fourth identical request; a further copy costs 15 EUR if the person agrees.
    email = render(renderer, "fee_notice", language)
    expected = {
        "fr": (
            "15,00\u00a0€",
            "19 mars 2027",
            "Nous ne vous facturerons rien sans votre accord",
            "retirer votre demande",
            "préciser ou limiter votre demande",
            "nous ne vous enverrons pas cette copie supplémentaire",
            "première copie de vos données est toujours gratuite",
            "Quatrième demande",
        ),
        "en": (
            "€15.00",
            "19 March 2027",
            "We will not charge you anything without your agreement",
            "withdraw your request",
            "clarify or narrow your request",
            "we will not send you this further copy",
            "first copy of your data is always free of charge",
            "Fourth identical request",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase
    excessive = render(renderer, "fee_notice", language, basis="manifestly_excessive")
    consequence = {"fr": "nous ne donnerons pas suite à cette demande", "en": "we will not act on this request"}[
        language
    ]
    assert consequence in flat(excessive.text)
    assert {"fr": "Il nous appartient de démontrer", "en": "It is for us to demonstrate"}[language] in flat(
        excessive.text
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refusal_gives_the_reason_and_says_when_the_rest_goes_on(renderer, language):
    full = render(renderer, "refusal", language)
    partial = render(renderer, "refusal", language, partial=True, reason="rights_of_others")
    rest = {"fr": "toujours en cours de traitement", "en": "still being handled"}[language]

    assert REFUSAL_REASONS["manifestly_excessive"][language] in full.text
    assert sample_context("refusal")["explanation"][language] in full.text
    assert rest not in flat(full.text) and rest in flat(partial.text)
    assert {"fr": "partiel", "en": "partial"}[language] in partial.subject
    assert REFUSAL_REASONS["rights_of_others"][language] in partial.text
    burden = {"fr": "Il nous appartient", "en": "It is for us"}[language]
    assert burden in full.text and burden not in partial.text


# --- rectification, restriction, portability (R25, R27, R28) -----------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rectification_shows_old_and_new_values_and_the_recipients_told(renderer, language):
    # GS-10: new postal address; the franchisee handling the quote is told (Art. 19).
    email = render(renderer, "outcome_rectification", language)
    text = flat(email.text)
    quote = {"fr": ("«\u00a0", "\u00a0»"), "en": ('"', '"')}[language]
    moved = (
        f"{quote[0]}4 impasse des Lilas, 69100 Villeurbanne{quote[1]} → {quote[0]}18 cours Vitton, 69006 Lyon{quote[1]}"
    )
    completed = {"fr": "(champ complété)", "en": "(completed)"}[language]
    article = {"fr": "article 19 du RGPD", "en": "Article 19 GDPR"}[language]

    for phrase in (moved, completed, "Maison Services Lyon Est (franchisé)", article):
        assert phrase in text and phrase in readable(email), phrase

    # No recipient listed: the person may ask us to name them.
    unnamed = flat(render(renderer, "outcome_rectification", language, recipients_notified=[]).text)
    on_request = {"fr": "Sur simple demande", "en": "On request, we will tell you"}[language]
    assert on_request in unnamed and article in unnamed

    # Nothing needed changing: no change list and no recipients to tell.
    unchanged = render(renderer, "outcome_rectification", language, unchanged=True, changes=[], updated=[])
    assert {"fr": "aucune modification", "en": "no change"}[language] in unchanged.subject
    assert "→" not in unchanged.text and article not in flat(unchanged.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_restriction_says_the_data_are_only_stored_until_we_warn_before_lifting(renderer, language):
    # GS-11: accuracy contested.
    text = flat(render(renderer, "outcome_restriction", language).text)
    expected = {
        "fr": (
            "nous nous contentons de conserver vos données",
            "aucune prospection commerciale",
            "aucune transmission à des tiers",
            "aucun calcul de score",
            "Avant de lever cette limitation, nous vous en informerons",
            "article 18, paragraphe 1, point a",
            "8 mars 2027",
        ),
        "en": (
            "we only store your data",
            "no marketing",
            "no sharing with third parties",
            "no scoring",
            "Before lifting this restriction, we will tell you",
            "Art. 18(1)(a)",
            "8 March 2027",
        ),
    }[language]

    for phrase in expected:
        assert phrase in text, phrase


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lift_notice_gives_the_date_the_reason_and_how_to_disagree(renderer, language):
    email = render(renderer, "restriction_lift_notice", language)
    expected = {
        "fr": (
            "sera levée le 2 avril 2027",
            "avant le 2 avril 2027",
            LIFT_REASONS["accuracy_verified"]["fr"],
            "Si vous n'êtes pas d'accord",
        ),
        "en": (
            "lifted on 2 April 2027",
            "before 2 April 2027",
            LIFT_REASONS["accuracy_verified"]["en"],
            "If you disagree",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase


@pytest.mark.parametrize("language", LANGUAGES)
def test_portability_delivers_json_and_csv_without_inferred_data_or_erasure(renderer, language):
    # GS-12a: provided and observed data; the lead score stays with the right of access.
    context = sample_context("outcome_portability")
    email = render(renderer, "outcome_portability", language)
    expected = {
        "fr": (
            "JSON et CSV",
            "lisibles par machine",
            "note qui décrit chaque champ",
            "comme un score",
            "droit d'accès",
            "n'efface aucune donnée",
            "n'est envoyé qu'à cette adresse e-mail",
            "19 avril 2027",
        ),
        "en": (
            "JSON and CSV",
            "machine-readable",
            "note describing each field",
            "such as a score",
            "right of access",
            "does not erase anything",
            "sent only to this e-mail address",
            "19 April 2027",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase
    assert context["download_url"] in email.text
    assert context["download_url"].replace("&", "&amp;") in email.html
    without = render(renderer, "outcome_portability", language, excluded=[])
    assert expected[3] not in flat(without.text) and not has_remedies(without)  # nothing left out: no remedies


@pytest.mark.parametrize("language", LANGUAGES)
def test_portability_refused_on_legitimate_interest_offers_an_access_copy(renderer, language):
    # GS-12b: a contact-form-only person; Art. 20 needs consent or a contract.
    offered = flat(render(renderer, "portability_not_applicable", language).text)
    prepared = flat(render(renderer, "portability_not_applicable", language, access_offered=False).text)
    basis = {"fr": "article 6, paragraphe 1, point f", "en": "Art. 6(1)(f)"}[language]
    offer = {
        "fr": "Nous pouvons en revanche vous remettre gratuitement une copie",
        "en": "We can, however, give you a copy",
    }[language]
    already = {
        "fr": "Nous traitons déjà votre demande au titre de votre droit d'accès",
        "en": "We are already handling your request under your right of access",
    }[language]

    assert basis in offered and offer in offered and already not in offered
    assert already in prepared and offer not in prepared


# --- objection and consent (R29-R31, R45) ------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_marketing_objection_lists_the_channels_and_the_minimal_entry_kept(renderer, language):
    # GS-08: "stop all marketing" by phone.
    email = render(renderer, "outcome_objection", language)
    text = flat(email.text)
    expected = {
        "fr": (
            "e-mail",
            "SMS",
            "téléphone",
            "courrier postal",
            "gratuit",
            "ne nécessite aucune justification",
            "6 mars 2027",
            "empreinte non réversible",
            "jusqu'au 6 mars 2030",
            "au moins trois ans",
            "score de prospect",
        ),
        "en": (
            "e-mail",
            "text message (SMS)",
            "telephone",
            "post",
            "free of charge",
            "needs no justification",
            "6 March 2027",
            "keyed fingerprint",
            "until 6 March 2030",
            "at least three years",
            "lead score",
        ),
    }[language]

    for phrase in expected:
        assert phrase in text, phrase
    open_ended = flat(render(renderer, "outcome_objection", language, suppression_until=None).text)
    assert expected[9] in open_ended and expected[8] not in open_ended


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_general_objection_decision_gives_the_grounds_only_when_rejected(renderer, language):
    upheld = render(renderer, "objection_decision", language)
    grounds = {"fr": "Les notes d'appel sont nécessaires", "en": "The call notes are needed"}
    rejected = render(
        renderer, "objection_decision", language, upheld=False, explanation={k: v + "." for k, v in grounds.items()}
    )
    erased = {"fr": "article 17, paragraphe 1, point c", "en": "Article 17(1)(c)"}[language]
    marketing = {"fr": "prospection commerciale", "en": "direct marketing"}[language]

    assert not has_remedies(upheld) and erased in flat(upheld.text)
    assert has_remedies(rejected) and grounds[language] in rejected.text
    assert marketing in flat(rejected.text) and erased not in flat(rejected.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_consent_withdrawal_leaves_past_processing_lawful_and_erases_consent_only_data(renderer, language):
    text = flat(render(renderer, "outcome_consent_withdrawal", language).text)
    expected = {
        "fr": (
            "ne remet pas en cause la licéité des traitements effectués avant",
            "sans autre fondement juridique, ont été effacées",
            "e-mail",
            "SMS",
        ),
        "en": (
            "does not affect the lawfulness of the processing carried out before",
            "with no other legal basis, have been erased",
            "e-mail",
            "text message (SMS)",
        ),
    }[language]

    for phrase in expected:
        assert phrase in text, phrase


# --- death and post-mortem directives (R37-R40) ------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_recorded_directive_rests_on_specific_consent_and_can_be_revoked(renderer, language):
    # GS-18.
    named = flat(render(renderer, "directive_recorded", language).text)
    unnamed = flat(render(renderer, "directive_recorded", language, executor_named=False).text)
    expected = {
        "fr": ("consentement spécifique", "modifier ou les révoquer à tout moment", "après votre décès"),
        "en": ("specific consent", "change or revoke them at any time", "after your death"),
    }[language]
    heirs = {"fr": "vos héritiers", "en": "your heirs"}[language]

    for phrase in expected:
        assert phrase in named, phrase
    assert heirs not in named and heirs in unnamed
    revoked = flat(render(renderer, "directive_revoked", language).text)
    assert {"fr": "14 juin 2027", "en": "14 June 2027"}[language] in revoked
    assert {"fr": "ne seront pas appliquées", "en": "will not be applied"}[language] in revoked


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_death_report_asks_for_proof_and_changes_nothing_before(renderer, language):
    # GS-16 negative test: without proof, nothing is erased or disclosed.
    heir = flat(render(renderer, "death_proof_request", language).text)
    executor = flat(render(renderer, "death_proof_request", language, requester_role="executor").text)
    common = {
        "fr": ("acte de décès", "aucune donnée ne sera effacée ni communiquée", "suspendu"),
        "en": ("death certificate", "no data will be erased or disclosed", "suspended"),
    }
    heir_proof = ("acte de notoriété", "livret de famille")
    named = {"fr": "la personne désignée dans ses directives", "en": "the person named in their directives"}[language]

    for phrase in common[language]:
        assert phrase in heir and phrase in executor, phrase
    for phrase in heir_proof:
        assert phrase in heir and phrase not in executor
    assert named in executor and named not in heir


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_heirs_get_a_free_account_of_what_was_done(renderer, language):
    # GS-16: marketing stopped at once, data erased except the invoice (legal hold).
    kept = [legal_item(), suppression_item()]
    email = render(renderer, "heir_justification", language, kept=kept)
    text = flat(email.text)
    expected = {
        "fr": (
            "gratuite",
            "5 mars 2027",
            "26 mars 2027",
            "Factures F-2025-0117",
            "jusqu'au 31 décembre 2036",
            "au moins trois ans",
            "aucune directive particulière",
        ),
        "en": (
            "free of charge",
            "5 March 2027",
            "26 March 2027",
            "Invoices F-2025-0117",
            "until 31 December 2036",
            "at least three years",
            "had not recorded any specific directives",
        ),
    }[language]

    for phrase in expected:
        assert phrase in text, phrase
    # The objection-list wording speaks of "the address", not "your address", to an heir.
    assert KEEP_GROUNDS[SUPPRESSION_GROUND][language] not in text
    assert {"fr": "empreinte non réversible de l'adresse", "en": "fingerprint of the address"}[language] in text
    assert not has_remedies(email)


@pytest.mark.parametrize("kind", list(DECISION_KINDS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dpo_is_told_which_command_records_the_decision(renderer, language, kind):
    detail = "Opposition de jeanne.exemple@example.org"
    email = render(renderer, "dpo_decision_needed", language, kind=kind, detail=detail)
    command = decision_command(kind, "DSR-2027-0042")

    assert command in email.text and escape(command) in email.html
    assert DECISION_KINDS[kind][language] in email.text
    for part in parts(email):
        assert "jeanne.exemple@example.org" not in part


# --- what the first version's messages gained --------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_erasure_outcome_names_the_recipients_told_under_article_19(renderer, language):
    # GS-05: processors and franchisees that received the data are told of the erasure.
    told = render(renderer, "outcome_erasure", language)
    silent = renderer.render("outcome_erasure", language, without_optional_keys("outcome_erasure"))
    article = {"fr": "article 19 du RGPD", "en": "Article 19 GDPR"}[language]

    for phrase in (article, "Maison Services Lyon Est (franchisé)", "Envoimail Inc."):
        assert phrase in flat(told.text) and phrase in readable(told)
    assert article not in flat(silent.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_access_outcome_carries_the_article_15_information(renderer, language):
    # GS-01 / GS-25: named recipients, the US one with country and safeguard (R24, R48).
    email = render(renderer, "outcome_access", language)
    expected = {
        "fr": (
            "Informations sur le traitement (article 15, paragraphe 1, du RGPD)",
            "Suivi de votre demande de devis\u00a0: l'exécution d'un contrat",
            "Identité et coordonnées",
            "Maison Services Lyon Est (France)",
            "Envoimail Inc. (États-Unis)",
            "hors de l'Espace économique européen",
            "article 15, paragraphe 2",
            "DPF, décision (UE) 2023/1795",
            "2021/914",
            "Données de prospection\u00a0: 3 ans",
            "information.html",
            "qui nous a transmis votre demande de devis",
            "aucune décision fondée exclusivement sur un traitement automatisé",
        ),
        "en": (
            "Information about the processing (Art. 15(1) GDPR)",
            "Handling your quote request: the performance of a contract",
            "Identity and contact details",
            "Maison Services Lyon Est (France)",
            "Envoimail Inc. (United States)",
            "Outside the European Economic Area",
            "Art. 15(2) GDPR",
            "Data Privacy Framework (Decision (EU) 2023/1795)",
            "2021/914",
            "Prospect data: 3 years",
            "information.html",
            "passed on your quote request",
            "no decision about you based solely on automated processing",
        ),
    }[language]

    for phrase in expected:
        assert phrase in readable(email), phrase
        assert phrase.upper() in flat(email.text).upper(), phrase
    # The EU recipient has no transfer safeguard to state, and "no automated decision" is ours
    # to say: the register's label only explains decisions that exist.
    assert flat(email.text).count(expected[6]) == 1
    label = sample_context("outcome_access")["information"]["automated_decisions"]["label"]
    assert label[language] not in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_article_15_block_says_so_when_there_is_no_recipient_source_or_none_automated(renderer, language):
    information = {
        **sample_context("outcome_access")["information"],
        "recipients": [],
        "sources": [],
        "automated_decisions": {"exists": True, "label": {"fr": "Tri des CV.", "en": "CV triage."}},
    }
    email = render(renderer, "outcome_access", language, information=information)
    expected = {
        "fr": (
            "Nous n'avons communiqué vos données à aucun destinataire",
            "directement auprès de vous",
            "Nous prenons à votre égard des décisions",
            "Tri des CV.",
        ),
        "en": (
            "We have not disclosed your data to any recipient",
            "directly from you",
            "We make decisions about you",
            "CV triage.",
        ),
    }[language]

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_register_may_tie_sources_to_categories_and_give_recipients_a_purpose(renderer, language):
    # The shape streams.register_view sends: extra keys are welcome, labels stay localized.
    information = {
        **sample_context("outcome_access")["information"],
        "sources": [
            {
                "category": {"fr": "Demandes de devis", "en": "Quote requests"},
                "system": {"fr": "CRM", "en": "CRM"},
                "source": {"fr": "Notre franchisé de Lyon", "en": "Our Lyon franchisee"},
            }
        ],
        "recipients": [
            {
                "id": "aircall",
                "name": "Aircall SAS",
                "country": "FR",
                "third_country": False,
                "role": "processor",
                "safeguard": "none_eea",
                "safeguard_label": {"fr": "Pas de transfert", "en": "No transfer"},
                "purpose": {"fr": "Téléphonie", "en": "Telephony"},
            }
        ],
    }
    email = render(renderer, "outcome_access", language, information=information)
    colon = {"fr": "\u00a0: ", "en": ": "}[language]
    expected = (
        {"fr": "Demandes de devis", "en": "Quote requests"}[language]
        + colon
        + {"fr": "Notre franchisé de Lyon", "en": "Our Lyon franchisee"}[language],
        "Aircall SAS (France)" + colon + {"fr": "Téléphonie", "en": "Telephony"}[language],
    )

    for phrase in expected:
        assert phrase in flat(email.text) and phrase in readable(email), phrase
    assert {"fr": "Pas de transfert", "en": "No transfer"}[language] not in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_request_about_data_collected_from_a_minor_is_acknowledged_as_a_priority(renderer, language):
    # GS-19, LIL 51-II.
    priority = flat(render(renderer, "receipt", language, priority=True).text)
    ordinary = flat(render(renderer, "receipt", language).text)
    phrase = {"fr": "traitée en priorité", "en": "handled as a priority"}[language]
    law = {"fr": "article 51, II", "en": "Article 51-II"}[language]

    assert phrase in priority and law in priority
    assert phrase not in ordinary


def test_dates_are_dates_in_every_new_sample():
    # The pipeline revives ISO strings before rendering (streams.notifications.revive).
    for message_type in MESSAGE_TYPES:
        for key, value in sample_context(message_type).items():
            if key.endswith(("_on", "_by", "_until")) or key in ("deadline", "new_deadline"):
                assert value is None or isinstance(value, date), (message_type, key)
