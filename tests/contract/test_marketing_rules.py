"""Each reference system's own rules for the rights verbs: who campaigns reach, what objection and
restriction stop, what a legal hold keeps (R27, R30-R32, R45, R46; GS-07, GS-08, GS-09, GS-10, GS-23)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from handlers.protocol import MARKETING_CHANNELS, RESTRICTION_TAG, Subject
from handlers.reference import INVOICE_GROUND, SUPPRESSION_GROUND, SUPPRESSION_ITEM
from schemas.tasks import KeepGround, LegalHold
from tests.contract.test_adapters import CAMILLE, HUGO, NOW, application, quote

pytestmark = pytest.mark.contract

LEA = Subject(email="lea.garnier@example.test", name="Léa Garnier")
QUOTE = "dsr.form.quote_requested"
DISPUTE = LegalHold(
    hold_id="dispute-1",
    categories=["invoices", "call_notes"],
    ground=KeepGround.LEGAL_CLAIMS,
    owner="legal",
    review_on=date(2027, 6, 30),
)


def consenting(address: str, **channels: bool) -> dict:
    """A quote form with only the given marketing boxes ticked (R32: one choice per channel)."""
    choice = {"email": False, "sms": False, "phone": False, "post": False, "wording_version": "2026-09"}
    return quote(address, marketing_consent=choice | channels)


# --- CRM: call lists (GS-09) ----------------------------------------------------------------------


def test_call_list_excludes_a_quote_form_prospect_without_phone_consent(crm):
    # Camille ticked phone marketing; Hugo asked for a quote without ticking it.
    crm.record_submission("sub-camille", QUOTE, CAMILLE, consenting(CAMILLE.email, phone=True))
    crm.record_submission("sub-hugo", QUOTE, HUGO, consenting(HUGO.email, email=True))
    assert crm.call_list(NOW) == [(CAMILLE.email, "+33 6 12 34 56 78")]


def test_call_list_drops_someone_who_objected_or_is_restricted(crm):
    crm.record_submission("sub-camille", QUOTE, CAMILLE, consenting(CAMILLE.email, phone=True))
    crm.record_submission("sub-lea", QUOTE, LEA, consenting(LEA.email, phone=True))
    crm.suppress_marketing(CAMILLE, ("phone",), source="objection")  # GS-08, by phone
    crm.restrict(LEA, "accuracy_contested")  # Art. 18(2): storage only
    assert crm.call_list(NOW) == []


def test_before_the_opt_in_rule_only_a_refusal_kept_someone_off_the_list(crm):
    # Before 11 Aug 2026 phone prospecting was opt-out; a recorded refusal still counted.
    crm.record_submission("sub-camille", QUOTE, CAMILLE, consenting(CAMILLE.email, phone=True))
    crm.record_submission("sub-hugo", QUOTE, HUGO, consenting(HUGO.email))
    assert crm.call_list(datetime(2026, 8, 1, tzinfo=UTC)) == [(CAMILLE.email, "+33 6 12 34 56 78")]


# --- CRM: objection, restriction, scoring (GS-08, R27) --------------------------------------------


def test_crm_objection_is_recorded_per_channel_with_its_source(crm):
    crm.record_submission("sub-1", QUOTE, CAMILLE, consenting(CAMILLE.email, email=True, phone=True))
    report = crm.suppress_marketing(CAMILLE, MARKETING_CHANNELS, source="objection")
    assert report.channels == (*MARKETING_CHANNELS, "profiling")  # what stopped, profiling included (21(2))
    latest = {c["channel"]: c for c in crm.export(CAMILLE).records["consents"]}
    expected = dict.fromkeys((*MARKETING_CHANNELS, "profiling"), (False, "objection"))
    assert {ch: (c["granted"], c["source"]) for ch, c in latest.items()} == expected


def test_crm_withdrawal_of_one_channel_keeps_the_others(crm):
    crm.record_submission("sub-1", QUOTE, CAMILLE, consenting(CAMILLE.email, email=True, sms=True))
    report = crm.suppress_marketing(CAMILLE, ("sms",), source="withdrawal")
    assert report.channels == ("sms",)  # no profiling claimed: a withdrawal does not stop it
    latest = {c["channel"]: c["granted"] for c in crm.export(CAMILLE).records["consents"]}
    assert latest["email"] is True and latest["sms"] is False
    assert "profiling" not in latest  # a withdrawal is not an objection to profiling


def test_crm_records_nothing_about_a_stranger_who_objects(crm):
    assert crm.suppress_marketing(HUGO, MARKETING_CHANNELS).channels == MARKETING_CHANNELS
    assert crm.lookup(HUGO).holds_data is False


def test_lead_score_does_not_move_while_restricted_or_after_an_objection(crm):
    crm.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    crm.restrict(CAMILLE, "accuracy_contested")
    crm.record_submission("sub-2", QUOTE, CAMILLE, quote(CAMILLE.email, service="chauffage"))
    assert crm.export(CAMILLE).records["person"][0]["lead_score"] == 10
    crm.lift_restriction(CAMILLE)
    crm.record_submission("sub-3", QUOTE, CAMILLE, quote(CAMILLE.email, service="toiture"))
    assert crm.export(CAMILLE).records["person"][0]["lead_score"] == 30
    crm.suppress_marketing(CAMILLE, MARKETING_CHANNELS, source="objection")  # Art. 21(2) covers profiling
    crm.record_submission("sub-4", QUOTE, CAMILLE, quote(CAMILLE.email, service="isolation"))
    assert crm.export(CAMILLE).records["person"][0]["lead_score"] == 30


def test_crm_rectifies_the_postal_address_everywhere_it_is_used(crm):
    # GS-10: new street and postal code; city and country unchanged; post is still a channel.
    crm.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    report = crm.rectify(CAMILLE, {"postal_address": {"street": "3 place Bellecour", "postal_code": "69002"}})
    old, new = report.changed["postal_address"]
    assert old == {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon", "country": "FR"}
    assert new == {"street": "3 place Bellecour", "postal_code": "69002", "city": "Lyon", "country": "FR"}
    [person] = crm.export(CAMILLE).records["person"]
    assert (person["street"], person["postal_code"], person["city"]) == ("3 place Bellecour", "69002", "Lyon")


# --- CRM: legal holds (GS-23) ---------------------------------------------------------------------


def test_a_customer_in_litigation_keeps_held_invoices_and_notes_restricted(crm):
    crm.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    crm.add_call_note(CAMILLE.email, "Conteste la facture.")
    crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14")
    report = crm.erase(CAMILLE, holds=(DISPUTE,))
    kept = {k.item: (k.count, k.ground, k.until) for k in report.kept}
    assert kept == {
        "invoices": (1, KeepGround.LEGAL_CLAIMS, "2027-06-30"),
        "call_notes": (1, KeepGround.LEGAL_CLAIMS, "2027-06-30"),
    }
    records = crm.export(CAMILLE).records
    assert set(records) == {"invoices", "call_notes"}
    assert records["invoices"][0][RESTRICTION_TAG] == "legal_hold:dispute-1"


def test_when_the_hold_is_released_invoices_go_to_the_ten_year_archive(crm):
    crm.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14")
    crm.erase(CAMILLE, holds=(DISPUTE,))
    report = crm.erase(CAMILLE)  # hold released: the overdue data go (R46)
    assert [(k.item, k.ground, k.until) for k in report.kept] == [("invoices", INVOICE_GROUND, "2035-12-31")]
    [archived] = crm.export(CAMILLE).records["archived_invoices"]
    assert archived["_restricted"] is True and RESTRICTION_TAG not in archived


# --- Recruitment ----------------------------------------------------------------------------------


def test_a_held_cv_keeps_its_file(tmp_path, recruitment):
    recruitment.record_submission("sub-1", "dsr.form.job_application_submitted", CAMILLE, application(CAMILLE.email))
    hold = DISPUTE.model_copy(update={"categories": ["cv_files"]})
    recruitment.erase(CAMILLE, holds=(hold,))
    [cv] = recruitment.export(CAMILLE).records["cv_files"]
    assert Path(cv["path"]).is_file() and cv[RESTRICTION_TAG] == "legal_hold:dispute-1"
    recruitment.erase(CAMILLE)
    assert list((tmp_path / "cv").iterdir()) == []


# --- Newsletter: send lists (GS-07) ---------------------------------------------------------------


def test_someone_who_unsubscribed_today_is_absent_from_tomorrows_campaign(newsletter):
    for n, person in enumerate((CAMILLE, HUGO, LEA)):
        newsletter.record_submission(f"sub-{n}", QUOTE, person, quote(person.email))
    assert newsletter.send_list("2026-11-lettre") == sorted(p.email for p in (CAMILLE, HUGO, LEA))
    report = newsletter.suppress_marketing(CAMILLE, ("email",), source="withdrawal")  # one click
    newsletter.restrict(HUGO, "accuracy_contested")
    assert newsletter.send_list("2026-11-lettre") == [LEA.email]
    assert [(k.item, k.ground, k.until) for k in report.kept] == [(SUPPRESSION_ITEM, SUPPRESSION_GROUND, "2029-11-26")]
    assert report.erased_items == 1  # her subscription had no basis left (Art. 17(1)(b)): reported, not assumed


def test_a_campaign_is_not_sent_twice_to_the_same_person(newsletter):
    newsletter.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    newsletter.add_campaign_event(CAMILLE.email, "2026-11-lettre", "sent")
    assert newsletter.send_list("2026-11-lettre") == []
    assert newsletter.send_list("2026-12-lettre") == [CAMILLE.email]


def test_an_objection_from_a_stranger_still_blocks_a_later_import(newsletter):
    # R45: the keyed hash is what stops a later form from subscribing the address again.
    newsletter.suppress_marketing(HUGO, MARKETING_CHANNELS)
    assert newsletter.is_suppressed(HUGO.email)
    newsletter.record_submission("sub-1", QUOTE, HUGO, quote(HUGO.email))
    assert newsletter.send_list("2026-11-lettre") == []


def test_the_newsletter_ignores_channels_it_does_not_use(newsletter):
    newsletter.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    report = newsletter.suppress_marketing(CAMILLE, ("sms", "phone"))
    assert (report.channels, report.kept) == ((), ())
    assert newsletter.send_list("2026-11-lettre") == [CAMILLE.email]


def test_unsubscribing_does_not_delete_what_a_legal_hold_keeps(newsletter):
    newsletter.record_submission("sub-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    newsletter.add_campaign_event(CAMILLE.email, "2026-10-lettre", "clicked")
    newsletter.erase(CAMILLE, holds=(DISPUTE.model_copy(update={"categories": ["campaign_events"]}),))
    newsletter.suppress_marketing(CAMILLE, ("email",))
    assert len(newsletter.export(CAMILLE).records["campaign_events"]) == 1
    assert newsletter.send_list("2026-11-lettre") == []


def test_before_an_erasure_is_verified_marketing_stops_but_nothing_is_erased(newsletter):
    # §3.2: suppression is never blocked behind verification, but a wrongful erasure is a breach too.
    newsletter.record_submission("s-1", QUOTE, CAMILLE, quote(CAMILLE.email))
    report = newsletter.suppress_marketing(CAMILLE, ("email",), source="erasure_pending")
    assert report.channels == ("email",)
    assert CAMILLE.email not in newsletter.send_list("tomorrow")
    assert newsletter.lookup(CAMILLE).holds_data  # the verified erase will find and report the data
    assert newsletter.erase(CAMILLE).erased_items == 1
