"""The record of processing as data: validation, Art. 15 answers, retention dates, portability (R22-R28, R44-R49)."""

import copy
import json
import re
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from dsr.register import DEFAULT_REGISTER, load_register
from gdpr.register import PORTABLE_BASES, LegalBasis, Register, RegisterError, Text
from gdpr.ropa import (
    access_information,
    portability_bases,
    portability_exclusions,
    portable_categories,
    portable_records,
    recipients_of,
    retention_dates,
)
from handlers.protocol import Subject
from handlers.reference.crm import CrmAdapter
from handlers.reference.newsletter import NewsletterAdapter
from handlers.reference.recruitment import RecruitmentAdapter

pytestmark = pytest.mark.unit

BANNED = "privacy" + " shield"  # R47; spelt in two parts so that no project file carries it
REGISTER = load_register()
TEXT = {"fr": "texte", "en": "text"}


def minimal() -> dict:
    """The smallest valid register: one purpose, one rule, one EEA recipient, one system."""
    return {
        "purposes": {"quotes": {"label": TEXT}},
        "retention_rules": {
            "three_years": {"action": "delete", "description": TEXT, "start": ["created_at"], "duration": {"years": 3}}
        },
        "recipients": {
            "host": {
                "name": "Hébergeur SAS",
                "role": "processor",
                "country": "FR",
                "transfer_tool": "none_eea",
                "purpose": TEXT,
            }
        },
        "systems": {
            "crm": {
                "label": TEXT,
                "recipients": ["host"],
                "categories": {
                    "person": {
                        "label": TEXT,
                        "purposes": ["quotes"],
                        "legal_basis": "contract",
                        "origin": "provided",
                        "retention": "three_years",
                    }
                },
            }
        },
    }


def with_recipient(**fields) -> dict:
    data = minimal()
    data["recipients"]["vendor"] = {"name": "Vendor Inc.", "role": "processor", "purpose": TEXT, **fields}
    return data


def error_of(data: dict) -> str:
    with pytest.raises(RegisterError) as err:
        Register.from_dict(data)
    return str(err.value)


# --- The shipped register ------------------------------------------------------------------------


def test_the_shipped_register_declares_every_category_the_reference_systems_export(tmp_path):
    # R44: no exported category without purposes, basis and retention rule.
    exported = {
        "crm": {c.name for c in CrmAdapter.CATEGORIES} | {"archived_invoices"},
        "recruitment": {c.name for c in RecruitmentAdapter.CATEGORIES},
        "newsletter": {c.name for c in NewsletterAdapter.CATEGORIES},
    }
    for system, categories in exported.items():
        assert categories <= set(REGISTER.systems[system].categories), system


def test_recipient_ids_are_usable_as_topic_suffixes_and_names_are_identities():  # R24, R35
    for rid, recipient in REGISTER.recipients.items():
        assert rid.replace("-", "").isalnum() and rid == rid.lower()
        assert recipient.name and recipient.name != recipient.role.value


def test_the_shipped_register_never_names_the_invalidated_framework():  # R47, GS-25
    assert BANNED not in DEFAULT_REGISTER.read_text(encoding="utf-8").lower()
    answer = access_information(REGISTER, list(REGISTER.systems))
    assert BANNED not in json.dumps(answer, ensure_ascii=False).lower()


def texts_of(value) -> list[Text]:
    """Every Text of a register, wherever it sits (labels, descriptions, purposes, sources...)."""
    if isinstance(value, Text):
        return [value]
    if isinstance(value, BaseModel):
        return [t for name in type(value).model_fields for t in texts_of(getattr(value, name))]
    if isinstance(value, dict):
        return [t for item in value.values() for t in texts_of(item)]
    if isinstance(value, list | tuple):
        return [t for item in value for t in texts_of(item)]
    return []


# An ordinary blank (or a folded YAML line break) where French wants a no-break space (U+00A0).
# Written out: \s would match U+00A0 itself.
BLANK_BEFORE_PUNCTUATION = re.compile(r"[ \t\n][:;?!»]|«[ \t\n]")


def test_the_shipped_register_writes_french_with_no_break_spaces():
    texts = texts_of(REGISTER)
    assert {p.label for p in REGISTER.purposes.values()} <= set(texts)  # the walk reaches the labels
    assert len(texts) > len(REGISTER.purposes) + len(REGISTER.retention_rules)
    for text in texts:
        assert not BLANK_BEFORE_PUNCTUATION.search(text.fr), text.fr


# --- Validation: each rule fails with the recipient and the fix ----------------------------------


def test_a_valid_minimal_register_loads():
    assert Register.from_dict(minimal()).systems["crm"].categories["person"].id == "person"


@pytest.mark.parametrize("text", ["EU-US Privacy" + " Shield", "privacy" + "-SHIELD certified", "Privacy" + "  shield"])
def test_the_invalidated_framework_is_rejected_anywhere(text):  # R47, C-311/18
    data = minimal()
    data["recipients"]["host"]["purpose"] = {"fr": "Hébergement", "en": f"Hosting under the {text}"}
    message = error_of(data)
    assert "recipients.host.purpose.en" in message and "R47" in message and "C-311/18" in message


def test_a_recipient_outside_the_eea_needs_a_transfer_tool():  # R48
    message = error_of(with_recipient(country="IN", transfer_tool="none_eea"))
    assert "recipient 'vendor' (Vendor Inc.)" in message and "outside the EEA" in message


def test_a_us_recipient_on_the_dpf_needs_the_scc_fallback():  # R49
    message = error_of(with_recipient(country="US", transfer_tool="dpf", tia_done_on="2026-07-01"))
    assert "recipient 'vendor'" in message and "scc_fallback: true" in message and "R49" in message


def test_sccs_need_a_transfer_impact_assessment():  # R48
    message = error_of(with_recipient(country="IN", transfer_tool="scc"))
    assert "recipient 'vendor'" in message and "tia_done_on" in message
    message = error_of(with_recipient(country="US", transfer_tool="dpf", scc_fallback=True))
    assert "tia_done_on" in message  # the fallback SCCs too: they are relied on the day the DPF falls


@pytest.mark.parametrize("country, fix", [("IN", "no adequacy decision covers IN"), ("US", "use dpf")])
def test_adequacy_only_for_countries_with_a_decision(country, fix):  # R48
    assert fix in error_of(with_recipient(country=country, transfer_tool="adequacy"))


def test_adequacy_for_a_listed_country_is_accepted():
    register = Register.from_dict(with_recipient(country="JP", transfer_tool="adequacy"))
    assert register.recipients["vendor"].third_country


def test_the_dpf_covers_us_recipients_only():
    assert "dpf covers certified US recipients only" in error_of(
        with_recipient(country="IN", transfer_tool="dpf", scc_fallback=True, tia_done_on="2026-07-01")
    )


def test_bcrs_need_the_group_that_holds_them():  # Art. 47
    assert "bcr_group" in error_of(with_recipient(country="IN", transfer_tool="bcr"))
    assert Register.from_dict(with_recipient(country="IN", transfer_tool="bcr", bcr_group="Vendor Group"))


def test_an_eea_recipient_has_no_transfer_tool():
    assert "set transfer_tool to none_eea" in error_of(with_recipient(country="DE", transfer_tool="scc"))


def test_declared_automated_decisions_must_be_explained():  # R33, Art. 15(1)(h)
    data = minimal() | {"automated_decisions": {"exists": True}}
    assert "describe their logic" in error_of(data)


# --- Cross-references: the message names the path and the unknown id ----------------------------


def test_an_unknown_rule_is_named_with_its_path():
    data = minimal()
    data["systems"]["crm"]["categories"]["call_notes"] = {
        "label": TEXT,
        "purposes": ["quotes"],
        "legal_basis": "legitimate_interest",
        "origin": "observed",
        "retention": "prospect_3y",
    }
    assert "systems.crm.categories.call_notes.retention: unknown rule 'prospect_3y'" in error_of(data)


def test_unknown_purposes_recipients_and_sibling_categories_are_named():
    data = minimal()
    data["systems"]["crm"]["recipients"].append("mailer")
    data["systems"]["crm"]["categories"]["person"]["purposes"].append("marketing")
    data["systems"]["crm"]["categories"]["person"]["follows"] = ["quote_requests"]
    data["retention_rules"]["three_years"]["start"] = ["invoices.paid_at"]
    message = error_of(data)
    assert "systems.crm.recipients: unknown recipient 'mailer'" in message
    assert "systems.crm.categories.person.purposes: unknown purpose 'marketing'" in message
    assert "systems.crm.categories.person.follows: 'quote_requests'" in message
    assert "reads 'invoices.paid_at', but 'crm' has no category 'invoices'" in message


def test_field_errors_carry_their_path():
    data = minimal()
    data["recipients"]["host"]["country"] = "France"
    data["recipients"]["Bad_Id"] = data["recipients"]["host"] | {"country": "FR"}
    message = error_of(data)
    assert "recipients.host.country" in message and "recipients.Bad_Id.id" in message


# --- Loading the YAML file -----------------------------------------------------------------------


def test_load_errors_name_the_file_and_the_path_inside_it(tmp_path):
    path = tmp_path / "register.yaml"
    path.write_text("purposes: {}\nretention_rules: {}\nsystems: {}\n")
    with pytest.raises(RegisterError) as err:
        load_register(path)
    assert str(path) in str(err.value) and "purposes" in str(err.value)


def test_duplicate_keys_and_bad_yaml_are_refused(tmp_path):
    path = tmp_path / "register.yaml"
    path.write_text("purposes:\n  a: {label: {fr: x, en: y}}\n  a: {label: {fr: x, en: y}}\n")
    with pytest.raises(RegisterError, match="duplicate key 'a'"):
        load_register(path)
    path.write_text("purposes: [unclosed\n")
    with pytest.raises(RegisterError, match="not valid YAML"):
        load_register(path)
    with pytest.raises(RegisterError, match="DSR_REGISTER_FILE"):
        load_register(tmp_path / "missing.yaml")


def test_norway_stays_a_country_code(tmp_path):
    # YAML 1.1 reads NO as false; the loader keeps it as text.
    path = tmp_path / "register.yaml"
    path.write_text(DEFAULT_REGISTER.read_text(encoding="utf-8").replace("country: FR\n", "country: NO\n", 1))
    assert "NO" in {r.country for r in load_register(path).recipients.values()}


# --- Access answers: Art. 15(1)(a)-(h) and 15(2) -------------------------------------------------


def test_gs25_the_us_emailing_tool_is_named_with_country_and_safeguards():
    answer = access_information(REGISTER, ["crm", "newsletter"])
    us = [r for r in answer["recipients"] if r["country"] == "US"]
    assert len(us) == 1 and "Mailchimp" in us[0]["name"] and us[0]["third_country"] and us[0]["safeguard"] == "dpf"
    assert "DPF-certified" in us[0]["safeguard_label"]["en"]
    assert "SCC 2021/914 also in place" in us[0]["safeguard_label"]["en"]
    assert "DPF" in us[0]["safeguard_label"]["fr"] and "2021/914" in us[0]["safeguard_label"]["fr"]


def test_gs01_the_answer_names_recipients_and_covers_every_item():  # R22, R24, R33
    answer = access_information(REGISTER, ["crm"])
    names = {r["name"] for r in answer["recipients"]}
    assert "Agence Vivaservices de Lyon (franchisee)" in names and not any(
        r["third_country"] for r in answer["recipients"]
    )
    assert set(answer) == {
        "purposes",
        "categories",
        "recipients",
        "retention",
        "sources",
        "automated_decisions",
        "rights",
    }
    decisions = answer["automated_decisions"]
    assert decisions["exists"] is False and "Art. 22" in decisions["label"]["en"]  # R33
    assert {"rectification", "erasure", "restriction", "objection", "portability", "complaint"} <= set(answer["rights"])
    assert all({"fr", "en"} == set(p["label"]) for p in answer["purposes"])
    assert any(c["id"] == "person" and c["inferred_fields"] == ["lead_score"] for c in answer["categories"])
    assert any("franchisé" in s["source"]["fr"] for s in answer["sources"])  # Art. 15(1)(g)


def test_with_records_the_answer_is_the_persons_own():
    # A contact-form-only person: no quote purpose, no portability right, and a dated retention.
    records = {
        "crm": {
            "person": [{"created_at": "2026-03-02T09:00:00+00:00", "last_contact_at": None}],
            "contact_messages": [{"submitted_at": "2026-03-02T09:00:00+00:00"}],
        }
    }
    answer = access_information(REGISTER, ["crm"], records)
    assert {(p["id"], p["legal_basis"]) for p in answer["purposes"]} == {("contact_followup", "legitimate_interest")}
    assert "portability" not in answer["rights"]
    assert {r["until"] for r in answer["retention"]} == {"2029-03-02"}


def test_a_prospects_answer_names_the_recipients_and_sources_of_her_own_data_only():  # Art. 15(1)(c), (g)
    # Issue 10, item 4: a prospect who only filled the quote form is told of no invoice, no accountant
    # and no franchisee source; a customer whose quote came through the franchisee is told of both.
    prospect = {"crm": {"person": [{"created_at": "2027-02-01"}], "quote_requests": [{"submitted_at": "2027-02-01"}]}}
    answer = access_information(REGISTER, ["crm"], prospect)
    assert "cabinet-comptable" not in {r["id"] for r in answer["recipients"]}
    assert answer["sources"] == [] and {p["id"] for p in answer["purposes"]} == {"quote_handling"}
    assert not any("Factures" in r["category"]["fr"] for r in answer["retention"])
    customer = {
        "crm": {
            **prospect["crm"],
            "quote_requests": [{"submitted_at": "2026-02-01", "received_via": "franchisee"}],
            "invoices": [{"issued_at": "2026-05-02", "paid_at": "2026-05-20"}],
        }
    }
    answer = access_information(REGISTER, ["crm"], customer)
    assert "cabinet-comptable" in {r["id"] for r in answer["recipients"]}
    assert [s["source"]["en"] for s in answer["sources"]] == [
        "The Vivaservices agency in Lyon, our franchisee, to which you sent your request directly"
    ]


def test_a_recipient_scoped_to_categories_must_name_categories_of_its_system():
    data = minimal()
    data["systems"]["crm"]["recipients"] = [{"id": "host", "categories": ["invoices"]}]
    assert "systems.crm.recipients.host: unknown category 'invoices'" in error_of(data)


def test_recipients_for_art19_notices_and_an_undeclared_system():  # R35
    assert [r.id for r in recipients_of(REGISTER, ["newsletter"])] == ["mailchimp"]
    assert "franchise-lyon" in {r.id for r in recipients_of(REGISTER, ["crm", "recruitment"])}
    with pytest.raises(RegisterError, match="system 'erp' holds data but is not in the register"):
        recipients_of(REGISTER, ["erp"])


# --- Retention: the person's own dates (§5 rows 5-7, GS-20, GS-21) --------------------------------


def until(system: str, records: dict, category: str) -> str | None:
    return next(e["until"] for e in retention_dates(REGISTER, system, records) if e["category"] == category)


PROSPECT = {
    "person": [{"created_at": "2023-11-20T08:00:00+00:00", "last_contact_at": "2023-11-26T16:12:00+00:00"}],
    "call_notes": [
        {"called_at": "2025-06-01T10:00:00+00:00", "direction": "outbound", "note": "Pas de réponse positive."}
    ],
}


def test_gs20_an_outgoing_call_does_not_restart_the_prospect_clock():
    assert until("crm", PROSPECT, "person") == "2026-11-26"
    assert until("crm", PROSPECT, "call_notes") == "2026-11-26"


def test_gs20_a_positive_answer_recorded_during_the_call_restarts_it():
    records = copy.deepcopy(PROSPECT)
    records["call_notes"][0] |= {"note": "Souhaite continuer à recevoir nos offres.", "positive_answer": True}
    assert until("crm", records, "person") == "2028-06-01"


def test_gs20_an_inbound_call_restarts_it():
    records = copy.deepcopy(PROSPECT)
    records["call_notes"][0]["direction"] = "inbound"
    assert until("crm", records, "person") == "2028-06-01"


def test_gs20_opens_never_restart_a_subscribers_clock_clicks_do():
    records = {
        "subscription": [{"subscribed_at": "2023-01-10T08:00:00+00:00"}],
        "campaign_events": [
            {"event": "clicked", "at": "2024-02-01T08:00:00+00:00"},
            {"event": "opened", "at": "2025-05-01T08:00:00+00:00"},
        ],
    }
    assert until("newsletter", records, "subscription") == "2027-02-01"


def candidate(**fields) -> dict:
    return {
        "candidate": [{"last_contact_at": "2026-01-15T11:00:00+00:00", **fields}],
        "applications": [{"position": "Technicien", "submitted_at": "2025-11-02T08:00:00+00:00"}],
    }


def test_gs21_rejected_employee_without_talent_pool_consent():
    records = candidate(candidate_kind="employee", talent_pool_consent=False, process_ended_at="2026-01-15")
    assert until("recruitment", records, "candidate") == "2026-04-15"
    assert until("recruitment", records, "applications") == "2026-04-15"


def test_gs21_employee_in_the_talent_pool_and_franchisee():
    in_pool = candidate(candidate_kind="employee", talent_pool_consent=True)
    assert until("recruitment", in_pool, "candidate") == "2028-01-15"
    assert (
        until("recruitment", candidate(candidate_kind="franchisee", talent_pool_consent=False), "candidate")
        == "2028-01-15"
    )


def test_a_missing_field_gives_the_rule_in_words_not_a_guess():
    # The process has not ended (or the system does not export its end); the kind is unknown.
    no_end = retention_dates(REGISTER, "recruitment", candidate(candidate_kind="employee", talent_pool_consent=False))
    assert no_end[0]["until"] is None and "3 months" in no_end[0]["description"]["en"]
    assert until("recruitment", candidate(talent_pool_consent=True), "candidate") is None


def test_customers_active_data_invoices_and_archive():  # §5 row 6
    records = copy.deepcopy(PROSPECT) | {
        "invoices": [{"number": "F-1", "issued_at": "2025-03-14", "paid_at": "2025-03-28"}],
        "archived_invoices": [{"number": "F-0", "issued_at": "2024-01-10", "paid_at": "2024-01-20"}],
    }
    dates = {e["category"]: (e["until"], e["action"]) for e in retention_dates(REGISTER, "crm", records)}
    assert dates["person"] == ("2029-03-28", "delete")  # last payment + 4 years
    assert dates["invoices"] == ("2029-03-28", "archive")
    assert dates["archived_invoices"] == ("2034-12-31", "delete")  # 10 years from the close of FY 2024


def test_a_category_missing_from_the_register_is_shown_not_hidden():  # R44
    entries = retention_dates(REGISTER, "crm", {"web_logs": [{"at": "2026-01-01"}]})
    assert entries[0]["rule"] is None and "DPO" in entries[0]["description"]["en"]


def test_dates_from_a_real_crm_export():
    # The reference CRM's own field names feed the rule: a quote on 2026-10-02 runs to 2029-10-02.
    crm = CrmAdapter(":memory:", clock=lambda: datetime(2026, 10, 2, 9, tzinfo=UTC))
    person = Subject(email="p@ex.fr")
    crm.record_submission(
        "q-1", "dsr.form.quote_requested", person, {"first_name": "P", "last_name": "Ex", "service": "plomberie"}
    )
    crm.add_call_note(person.email, "Relance.", "outbound", called_at="2027-01-05T10:00:00+00:00")
    records = crm.export(person).records
    assert {e["category"]: e["until"] for e in retention_dates(REGISTER, "crm", records)} == {
        "person": "2029-10-02",
        "quote_requests": "2029-10-02",
        "call_notes": "2029-10-02",
        "consents": "2029-10-02",
    }


# --- Portability: consent or contract, provided or observed (R28, §4.5, GS-12) --------------------


def test_portable_categories_exclude_legitimate_interest_and_legal_obligation():
    assert portable_categories(REGISTER, "crm") == {"person", "quote_requests", "invoices"}
    assert portable_categories(REGISTER, "recruitment") == {"candidate", "applications", "cv_files"}
    assert portable_categories(REGISTER, "newsletter") == {"subscription", "campaign_events"}


def test_inferred_categories_are_never_ported():
    data = minimal()
    data["systems"]["crm"]["categories"]["lead_score"] = {
        "label": TEXT,
        "purposes": ["quotes"],
        "legal_basis": "contract",
        "origin": "inferred",
        "retention": "three_years",
    }
    assert portable_categories(Register.from_dict(data), "crm") == {"person"}


def test_gs12a_the_customers_file_leaves_out_the_lead_score_and_the_contact_messages():
    records = {
        "person": [{"email": "c@ex.fr", "lead_score": 20, "_origin": "provided", "_inferred_fields": ["lead_score"]}],
        "quote_requests": [{"service": "plomberie"}],
        "contact_messages": [{"message": "Bonjour"}],
        "call_notes": [{"note": "Rappel"}],
        "invoices": [{"number": "F-1"}],
    }
    ported = portable_records(REGISTER, "crm", records)
    assert set(ported) == {"person", "quote_requests", "invoices"}
    assert ported["person"] == [{"email": "c@ex.fr", "_origin": "provided"}]


def test_gs12b_a_contact_form_only_person_has_no_portable_basis():
    held = {"crm": ["person", "contact_messages", "consents"]}
    bases = portability_bases(REGISTER, held)
    assert bases == {"crm": {LegalBasis.LEGITIMATE_INTEREST, LegalBasis.LEGAL_OBLIGATION}}
    assert not bases["crm"] & PORTABLE_BASES
    assert portable_categories(REGISTER, "crm", held["crm"]) == frozenset()


def test_each_category_left_out_of_the_portable_file_has_its_true_reason():  # R28, issue 10 item 5
    records = {
        "person": [{"email": "c@ex.fr", "lead_score": 20, "_inferred_fields": ["lead_score"]}],
        "quote_requests": [{"service": "plomberie"}],
        "contact_messages": [{"message": "Bonjour"}],
        "consents": [{"channel": "email", "granted": True}],
    }
    reasons = {e["category"]["en"]: (e["reason"], e["bases"]) for e in portability_exclusions(REGISTER, "crm", records)}
    assert reasons == {
        "Messages sent through our contact form": ("basis", ["legitimate_interest"]),
        "Your marketing choices per channel (e-mail, SMS, phone, post) and their proof": (
            "basis",
            ["legal_obligation"],
        ),
        "Identity, contact details and sales-interest score (computed by us: 10 points per quote request)": (
            "inferred_fields",
            [],
        ),
    }
    # Nothing inferred, nothing on another basis: nothing to explain.
    assert portability_exclusions(REGISTER, "crm", {"quote_requests": [{"service": "plomberie"}]}) == []


# --- Access answers from the company's register: a prospect, a customer, a candidate (issue 12) ---


def answer_for(system, records: dict) -> dict:
    return access_information(REGISTER, [system], {system: records})


def uses(answer: dict) -> set[tuple[str, str]]:
    return {(p["id"], p["legal_basis"]) for p in answer["purposes"]}


def dated(answer: dict) -> dict[str, str | None]:
    return {r["category"]["en"].split(",")[0].split(":")[0]: r["until"] for r in answer["retention"]}


def a_crm_prospect() -> tuple[CrmAdapter, Subject]:
    # Inès asks for a quote on 2 Feb 2027 and agrees to text messages: a prospect with a lead score.
    crm = CrmAdapter(":memory:", clock=lambda: datetime(2027, 2, 2, 9, tzinfo=UTC))
    ines = Subject(email="ines@ex.fr")
    data = {"first_name": "Inès", "phone": "+33 6 00 00 00 00", "service": "ménage", "marketing_consent": {"sms": True}}
    crm.record_submission("q-1", "dsr.form.quote_requested", ines, data)
    return crm, ines


def test_a_prospects_answer_names_her_purposes_recipients_and_end_date():
    crm, ines = a_crm_prospect()
    answer = answer_for("crm", crm.export(ines).records)
    assert uses(answer) == {
        ("quote_handling", "contract"),
        ("prospect_scoring", "legitimate_interest"),  # the lead score: profiling she may object to (Art. 21(2))
        ("marketing_choices", "legal_obligation"),
        ("phone_sms_marketing", "consent"),  # she ticked text messages
        ("postal_marketing", "legitimate_interest"),
    }
    assert {r["id"] for r in answer["recipients"]} == {"ovhcloud", "aircall", "franchise-lyon"}  # no accountant
    assert dated(answer)["Identity"] == "2030-02-02"  # 3 years from her quote (§5 row 5)
    assert "objection" in answer["rights"] and "consent_withdrawal" in answer["rights"]


def test_a_customers_answer_adds_invoices_the_accountant_and_the_four_year_end():
    crm, ines = a_crm_prospect()
    crm.add_invoice(ines.email, "F-2027-0001", 9000, "2027-03-01", paid_at="2027-03-15")
    answer = answer_for("crm", crm.export(ines).records)
    assert {
        ("customer_relationship", "contract"),
        ("accounting", "legal_obligation"),
        ("disputes", "legitimate_interest"),
    } <= uses(answer)
    assert "Cabinet Martin & Associés, expertise comptable (SARL)" in {r["name"] for r in answer["recipients"]}
    assert dated(answer)["Identity"] == dated(answer)["Invoices and payments"] == "2031-03-15"  # payment + 4 years
    crm.erase(ines)  # her invoice moves to the restricted archive: 10 years from the close of FY 2027
    archived = answer_for("crm", crm.export(ines).records)
    assert dated(archived) == {"Invoices in the restricted archive": "2037-12-31"}
    assert uses(archived) == {("accounting", "legal_obligation"), ("disputes", "legitimate_interest")}


def test_a_candidates_answer_names_recruitment_its_recipients_and_end_date(tmp_path):
    recruitment = RecruitmentAdapter(":memory:", tmp_path, clock=lambda: datetime(2027, 1, 15, 11, tzinfo=UTC))
    hugo = Subject(email="hugo@ex.fr")
    data = {"first_name": "Hugo", "position": "Jardinier", "candidate_kind": "employee", "talent_pool_consent": True}
    recruitment.record_submission("a-1", "dsr.form.job_application_submitted", hugo, data)
    answer = answer_for("recruitment", recruitment.export(hugo).records)
    assert uses(answer) == {("recruitment", "contract"), ("talent_pool", "consent")}
    assert {r["name"] for r in answer["recipients"]} == {"OVH SAS", "WTTJ SAS (Welcome to the Jungle)"}
    assert set(dated(answer).values()) == {"2029-01-15"}  # talent pool: 2 years from the last contact (§5 row 7)


def test_the_register_names_the_company_and_its_network():
    assert REGISTER.controller.name == "AAS Amicale Assistances Services"
    assert "Vivaservices" in REGISTER.controller.network.fr
    # The register read as a whole lists every purpose its categories may serve.
    every = {p["id"] for p in access_information(REGISTER, list(REGISTER.systems))["purposes"]}
    assert every == set(REGISTER.purposes)


def test_purposes_bound_to_rows_or_fields_must_be_declared():
    data = minimal()
    person = data["systems"]["crm"]["categories"]["person"]
    person["field_purposes"] = {"lead_score": ["scoring"]}
    person["purpose_where"] = {"newsletter": [{"channel": "email"}]}
    message = error_of(data)
    assert "field_purposes: unknown purpose 'scoring'" in message
    assert "purpose_where: 'newsletter' is not among its purposes" in message


def test_a_financial_year_end_must_be_a_month_and_day():
    data = minimal()
    data["retention_rules"]["three_years"]["from_financial_year_end"] = "31-12"
    assert "from_financial_year_end" in error_of(data)
