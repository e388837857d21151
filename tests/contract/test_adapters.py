"""The adapter contract, run on the in-memory twin and the reference systems (SQLite here, PostgreSQL in
test_postgres.py); then each system's rules."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gdpr.routing import DIRECTIVE_SUBMISSION
from handlers.memory import MemoryAdapter
from handlers.protocol import DATA_ACTIONS, OPTIONAL_ACTIONS, Adapter, Export, Subject, erases_by_category
from handlers.reference import (
    INVOICE_GROUND,
    SUPPRESSION_GROUND,
    SUPPRESSION_ITEM,
    CrmAdapter,
    DirectivesRegister,
    NewsletterAdapter,
    RecruitmentAdapter,
    seed_sample_people,
)
from schemas.intake import Right
from schemas.tasks import TaskAction
from tests.contract.stores import OnSqlite
from tests.contract.test_rights_verbs import RightsContract

pytestmark = pytest.mark.contract

CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
HUGO = Subject(email="hugo.moreau@example.test", name="Hugo Moreau")
SECRET = b"test-suppression-key"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ORIGINS = {"provided", "observed", "inferred"}


def clock() -> datetime:
    return NOW


def quote(email: str, first_name: str = "Camille", **extra) -> dict:
    return {
        "first_name": first_name,
        "last_name": "Durand",
        "email": email,
        "phone": "+33 6 12 34 56 78",
        "language": "fr",
        "marketing_consent": {"email": True, "sms": False, "phone": False, "post": True, "wording_version": "2026-09"},
        "postal_address": {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon", "country": "FR"},
        "service": "plomberie",
        "message": "Fuite sous l'évier.",
        **extra,
    }


def application(email: str, first_name: str = "Camille", **extra) -> dict:
    return {
        "first_name": first_name,
        "last_name": "Durand",
        "email": email,
        "phone": "+33 6 12 34 56 78",
        "language": "fr",
        "position": "Technicien chauffagiste",
        "candidate_kind": "employee",
        "cv_ref": "s3://careers-uploads/2026/11/cv-7f3a.pdf",
        "talent_pool_consent": False,
        **extra,
    }


def directive(email: str, first_name: str = "Camille", **extra) -> dict:
    return {
        "email": email,
        "instructions": f"{first_name} : fermer mes comptes, garder les photos.",
        "executor_name": "Hugo Moreau",
        "specific_consent": True,
        "language": "fr",
        **extra,
    }


def consent_change(email: str, granted: bool) -> dict:
    return {"email": email, "channel": "email", "granted": granted, "wording_version": "2026-09", "language": "fr"}


def active(export: Export) -> dict[str, list[dict]]:
    """Records still in use: restricted archives (kept under Art. 17(3)) left out."""
    kept = {c: [r for r in rows if not r.get("_restricted")] for c, rows in export.records.items()}
    return {c: rows for c, rows in kept.items() if rows}


def as_text(export: Export) -> str:
    return json.dumps(export.records, ensure_ascii=False, default=str)


class AdapterContract:
    """What every adapter promises the runtime. Subclasses give the factory and a fitting submission."""

    def make_adapter(self, tmp_path: Path) -> Adapter:
        raise NotImplementedError

    def submission(self, email: str, first_name: str = "Camille", **extra) -> tuple[str, dict]:
        return "dsr.form.quote_requested", quote(email, first_name, **extra)

    def provided_values(self, data: dict) -> list[str]:
        """Values of the submission the export must show back."""
        return [data["email"].lower(), data["first_name"]]

    @pytest.fixture
    def adapter(self, tmp_path: Path) -> Adapter:
        return self.make_adapter(tmp_path)

    def record(
        self, adapter: Adapter, submission_id: str, subject: Subject = CAMILLE, first_name: str = "Camille", **extra
    ):
        kind, data = self.submission(subject.email, first_name, **extra)
        adapter.record_submission(submission_id, kind, subject, data)
        return data

    def test_declares_every_data_verb_and_the_rights_they_serve(self, adapter):
        # Art. 19 notices go to recipients, not to systems holding data; record_contact is optional (the CRM's).
        assert adapter.capabilities.actions - OPTIONAL_ACTIONS == DATA_ACTIONS
        assert adapter.capabilities.rights == frozenset(Right) - {Right.POST_MORTEM}

    def test_an_unknown_person_is_not_held(self, adapter):
        assert adapter.lookup(CAMILLE).holds_data is False

    def test_a_recorded_submission_is_found_with_email_as_a_channel(self, adapter):
        self.record(adapter, "sub-1")
        answer = adapter.lookup(CAMILLE)
        assert answer.holds_data is True
        assert "email" in answer.channels

    def test_the_same_submission_twice_is_stored_once(self, adapter):
        # The runtime may deliver a task twice: the second delivery changes nothing.
        self.record(adapter, "sub-1")
        once = adapter.export(CAMILLE)
        self.record(adapter, "sub-1")
        assert adapter.export(CAMILLE) == once

    def test_the_export_shows_what_was_submitted_with_its_origin(self, adapter):
        data = self.record(adapter, "sub-1")
        export = adapter.export(CAMILLE)
        for value in self.provided_values(data):
            assert value in as_text(export)
        assert all(r["_origin"] in ORIGINS for rows in export.records.values() for r in rows)

    def test_erase_removes_everything_and_a_second_erase_finds_nothing(self, adapter):
        self.record(adapter, "sub-1")
        first = adapter.erase(CAMILLE)
        assert first.erased_items > 0
        assert adapter.lookup(CAMILLE).holds_data is False
        assert active(adapter.export(CAMILLE)) == {}
        second = adapter.erase(CAMILLE)
        assert second.erased_items == 0
        assert second.kept == first.kept  # a retried erase still reports what is kept, and why

    def test_erase_leaves_other_people_alone(self, adapter):
        self.record(adapter, "sub-camille")
        self.record(adapter, "sub-hugo", HUGO, "Hugo")
        before = adapter.export(HUGO)
        adapter.erase(CAMILLE)
        assert adapter.lookup(HUGO).holds_data is True
        assert adapter.export(HUGO) == before

    def test_an_erase_by_category_takes_only_the_categories_it_names(self, adapter):
        # R44: the retention sweep erases each category at its own end; the person's other data still run.
        assert erases_by_category(adapter)
        self.record(adapter, "sub-1")
        self.record(adapter, "sub-hugo", HUGO, "Hugo")
        before, hugo = active(adapter.export(CAMILLE)), adapter.export(HUGO)
        named = sorted(before)[0]
        report = adapter.erase(CAMILLE, categories=(named,))
        assert report.erased_items == len(before[named])
        assert active(adapter.export(CAMILLE)) == {c: rows for c, rows in before.items() if c != named}
        assert adapter.export(HUGO) == hugo
        assert adapter.erase(CAMILLE, categories=("no_such_category",)).erased_items == 0

    def test_matching_ignores_the_case_of_the_address(self, adapter):
        shouting = Subject(email="  Camille.DURAND@Example.TEST ", name="Camille Durand")
        self.record(adapter, "sub-1", shouting)
        assert adapter.lookup(CAMILLE).holds_data is True
        assert adapter.erase(CAMILLE).erased_items > 0
        assert adapter.lookup(shouting).holds_data is False

    def test_a_replayed_submission_does_not_bring_erased_data_back(self, adapter):
        # A consumer rewound after an erasure redelivers old tasks: the person stays erased.
        self.record(adapter, "sub-1")
        adapter.erase(CAMILLE)
        self.record(adapter, "sub-1")
        assert adapter.lookup(CAMILLE).holds_data is False

    def test_verbs_are_safe_from_worker_threads(self, adapter):
        # The runtime calls verbs through asyncio.to_thread, several tasks at once.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: self.record(adapter, f"sub-{n % 10}"), range(40)))
        assert adapter.lookup(CAMILLE).holds_data is True
        assert adapter.erase(CAMILLE).erased_items > 0


# Each implementation runs the whole contract: the original verbs, then the rights verbs
# (RightsContract, tests/contract/test_rights_verbs.py) with what the system holds and markets on.


class TestMemoryAdapter(AdapterContract, RightsContract):
    held_category = "submissions"

    def make_adapter(self, tmp_path):
        return MemoryAdapter("crm")


class TestCrmAdapter(OnSqlite, AdapterContract, RightsContract):
    held_category = "quote_requests"

    def make_adapter(self, tmp_path):
        return CrmAdapter(self.location(tmp_path, "crm"), clock=clock)


class TestRecruitmentAdapter(OnSqlite, AdapterContract, RightsContract):
    held_category = "applications"
    rectifiable = ("first_name", "last_name", "phone")  # no postal address in the recruiting tool
    marketing_channels = ()  # it does no marketing

    def make_adapter(self, tmp_path):
        return RecruitmentAdapter(self.location(tmp_path, "recruitment"), cv_dir=tmp_path / "cv", clock=clock)

    def submission(self, email, first_name="Camille", **extra):
        return "dsr.form.job_application_submitted", application(email, first_name, **extra)

    def test_a_cv_file_stays_with_its_row_when_an_erase_by_category_does_not_name_it(self, adapter, tmp_path):
        self.record(adapter, "sub-1")
        adapter.erase(CAMILLE, categories=("applications",))
        [cv] = adapter.export(CAMILLE).records["cv_files"]
        assert Path(cv["path"]).is_file() and "content" in cv
        adapter.erase(CAMILLE, categories=("cv_files",))
        assert not Path(cv["path"]).exists()


class TestNewsletterAdapter(OnSqlite, AdapterContract, RightsContract):
    held_category = "subscription"
    rectifiable = ()  # it keeps no name, phone or address
    marketing_channels = ("email",)

    def make_adapter(self, tmp_path):
        return NewsletterAdapter(self.location(tmp_path, "newsletter"), secret=SECRET, clock=clock)

    def provided_values(self, data):
        # The newsletter keeps no name: the address and the consent wording are what it holds.
        return [data["email"].lower(), data["marketing_consent"]["wording_version"]]

    def test_erasing_the_campaign_history_alone_leaves_the_subscription_running(self, adapter):
        # R44: the history past its end goes; a subscription still running is not suppressed with it (R45 is for
        # an erased or objecting address).
        self.record(adapter, "sub-1")
        adapter.add_campaign_event(CAMILLE.email, "printemps", "sent")
        report = adapter.erase(CAMILLE, categories=("campaign_events",))
        assert (report.erased_items, report.kept) == (1, ())
        assert not adapter.is_suppressed(CAMILLE.email) and adapter.send_list("été") == [CAMILLE.email.lower()]


class TestDirectivesRegister(OnSqlite, AdapterContract, RightsContract):
    held_category = "directives"
    rectifiable = ()  # the directive's text is the person's own words, changed by a new directive
    marketing_channels = ()

    def make_adapter(self, tmp_path):
        return DirectivesRegister(self.location(tmp_path, "directives"), clock=clock)

    def submission(self, email, first_name="Camille", **extra):
        return DIRECTIVE_SUBMISSION, directive(email, first_name, **extra)

    def provided_values(self, data):
        return [data["email"].lower(), data["instructions"]]


# --- The in-memory twin ---------------------------------------------------------------------------


def test_memory_twin_keeps_its_kept_categories_in_a_restricted_archive():
    twin = MemoryAdapter("crm", kept_categories=("invoices",), kept_ground=INVOICE_GROUND)
    twin.seed(CAMILLE.email, "invoices", {"number": "F-1", "_origin": "observed"})
    twin.seed(CAMILLE.email, "call_notes", {"note": "rappel", "_origin": "observed"})
    report = twin.erase(CAMILLE)
    assert report.erased_items == 1
    assert [(k.item, k.count, k.ground) for k in report.kept] == [("invoices", 1, INVOICE_GROUND)]
    assert twin.lookup(CAMILLE).holds_data is False
    assert twin.export(CAMILLE).records["invoices"][0]["_restricted"] is True


def test_memory_twin_declares_only_the_verbs_it_was_given():
    twin = MemoryAdapter("analytics", actions=(TaskAction.LOOKUP, TaskAction.ERASE))
    assert twin.capabilities.actions == {TaskAction.LOOKUP, TaskAction.ERASE}
    assert [r.value for r in twin.capabilities.rights] == ["erasure"]


# --- CRM ------------------------------------------------------------------------------------------


def test_crm_invoices_survive_erasure_in_a_restricted_archive_for_ten_years(crm):
    # Camille is a customer: an invoice from March 2025, then she asks for erasure.
    crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14", paid_at="2025-03-28")
    report = crm.erase(CAMILLE)
    [kept] = report.kept
    assert (kept.item, kept.count) == ("invoices", 1)
    assert kept.ground == INVOICE_GROUND
    assert kept.until == "2035-12-31"  # 10 years from the close of FY 2025 (L123-22)
    assert crm.lookup(CAMILLE).holds_data is False
    [archived] = crm.export(CAMILLE).records["archived_invoices"]
    assert archived["number"] == "F-2025-0142" and archived["_restricted"] is True
    assert archived["retain_until"] == "2035-12-31"


def test_crm_erasure_counts_what_went_and_not_what_was_archived(crm):
    crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    crm.add_call_note(CAMILLE.email, "Rappelée pour la visite.")
    crm.add_invoice(CAMILLE.email, "F-1", 5000, "2026-01-10")
    # person + quote + call note + 4 consent choices; the invoice is kept, not erased
    assert crm.erase(CAMILLE).erased_items == 7


def test_crm_lead_score_is_exported_as_inferred(crm):
    crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    crm.record_submission("sub-2", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email, service="chauffage"))
    [person] = crm.export(CAMILLE).records["person"]
    assert person["lead_score"] == 20
    assert person["_inferred_fields"] == ["lead_score"]


def test_crm_records_each_channel_choice_with_its_proof(crm):
    crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    consents = {c["channel"]: c for c in crm.export(CAMILLE).records["consents"]}
    granted = {channel: c["granted"] for channel, c in consents.items()}
    assert granted == {"email": True, "sms": False, "phone": False, "post": True}
    assert consents["email"]["wording_version"] == "2026-09"
    assert consents["email"]["source"] == "dsr.form.quote_requested"
    assert consents["email"]["recorded_at"] == NOW.isoformat()


def test_crm_lists_the_channels_on_file(crm):
    crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    assert crm.lookup(CAMILLE).channels == ("email", "phone", "post")


def test_crm_refuses_a_form_it_does_not_own(crm):
    with pytest.raises(ValueError):
        crm.record_submission("sub-1", "dsr.form.job_application_submitted", CAMILLE, application(CAMILLE.email))


def test_a_dev_database_from_before_the_id_columns_keeps_its_data(tmp_path):
    # Files made when rows were ordered by SQLite's implicit rowid gain an explicit id, rows kept.
    old = sqlite3.connect(tmp_path / "crm.db")
    old.executescript("""CREATE TABLE people (email TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, phone TEXT,
      street TEXT, postal_code TEXT, city TEXT, country TEXT, created_at TEXT NOT NULL, last_contact_at TEXT,
      lead_score INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE call_notes (email TEXT NOT NULL, note TEXT NOT NULL, called_at TEXT NOT NULL, direction TEXT);
    CREATE INDEX call_notes_email ON call_notes (email);
    INSERT INTO people (email, first_name, created_at) VALUES ('camille.durand@example.test', 'Camille', '2026');
    INSERT INTO call_notes VALUES ('camille.durand@example.test', 'Rappelée.', '2026', 'outbound');""")
    old.close()
    crm = CrmAdapter(tmp_path / "crm.db", clock=clock)
    records = crm.export(CAMILLE).records
    assert (records["person"][0]["first_name"], records["call_notes"][0]["note"]) == ("Camille", "Rappelée.")
    crm.add_call_note(CAMILLE.email, "Devis envoyé.")
    assert [n["note"] for n in crm.export(CAMILLE).records["call_notes"]] == ["Rappelée.", "Devis envoyé."]


# --- Recruitment ----------------------------------------------------------------------------------


def test_recruitment_deletes_the_cv_file_from_disk_on_erasure(tmp_path, recruitment):
    recruitment.record_submission("sub-1", "dsr.form.job_application_submitted", CAMILLE, application(CAMILLE.email))
    [cv] = recruitment.export(CAMILLE).records["cv_files"]
    assert Path(cv["path"]).read_text() == "s3://careers-uploads/2026/11/cv-7f3a.pdf"
    assert "camille" not in Path(cv["path"]).name.lower()
    recruitment.erase(CAMILLE)
    assert not Path(cv["path"]).exists()
    assert list((tmp_path / "cv").iterdir()) == []


def test_recruitment_exports_the_assessment_as_inferred(recruitment):
    recruitment.record_submission("sub-1", "dsr.form.job_application_submitted", CAMILLE, application(CAMILLE.email))
    recruitment.assess("sub-1", "Bon profil, à recontacter.")
    [app] = recruitment.export(CAMILLE).records["applications"]
    assert app["assessment"] == "Bon profil, à recontacter."
    assert app["_inferred_fields"] == ["assessment"]


# --- Newsletter -----------------------------------------------------------------------------------


def test_newsletter_erasure_keeps_only_a_fingerprint_for_three_years(newsletter):
    newsletter.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    newsletter.add_campaign_event(CAMILLE.email, "2026-10-lettre", "opened")
    report = newsletter.erase(CAMILLE)
    assert report.erased_items == 2
    [kept] = report.kept
    assert kept.item == SUPPRESSION_ITEM
    assert kept.ground == SUPPRESSION_GROUND
    assert kept.until == "2029-11-26"
    assert newsletter.is_suppressed("Camille.Durand@example.test")
    assert newsletter.lookup(CAMILLE).holds_data is False


def test_newsletter_file_holds_no_plaintext_address_after_erasure(tmp_path, newsletter):
    # Many rows, so pages split and the address sits in table and index pages, in the WAL too.
    for n in range(200):
        other = Subject(email=f"client{n}@example.test")
        newsletter.record_submission(f"sub-{n}", "dsr.form.quote_requested", other, quote(other.email))
    newsletter.record_submission("sub-camille", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    for event in ("sent", "opened", "clicked"):
        newsletter.add_campaign_event(CAMILLE.email, "2026-10-lettre", event)
    newsletter.erase(CAMILLE)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("newsletter.db")]
    assert any(p.read_bytes() for p in files)
    for path in files:
        assert CAMILLE.email.encode() not in path.read_bytes(), path.name
    # another connection, checkpointing, still finds nothing
    other = sqlite3.connect(tmp_path / "newsletter.db")
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()
    for path in files:
        if path.exists():
            assert CAMILLE.email.encode() not in path.read_bytes(), path.name
    assert newsletter.lookup(Subject(email="client7@example.test")).holds_data is True


def test_newsletter_withdrawal_unsubscribes_and_blocks_reimport(newsletter):
    newsletter.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
    newsletter.record_submission("sub-2", "dsr.consent.changed", CAMILLE, consent_change(CAMILLE.email, False))
    assert newsletter.is_suppressed(CAMILLE.email)
    assert newsletter.lookup(CAMILLE).holds_data is False
    # a later form with the box ticked does not resubscribe a suppressed address (R45)
    newsletter.record_submission("sub-3", "dsr.form.contact_submitted", CAMILLE, quote(CAMILLE.email))
    assert newsletter.lookup(CAMILLE).holds_data is False


def test_newsletter_explicit_consent_lifts_the_suppression(newsletter):
    newsletter.record_submission("sub-1", "dsr.consent.changed", CAMILLE, consent_change(CAMILLE.email, False))
    newsletter.record_submission("sub-2", "dsr.consent.changed", CAMILLE, consent_change(CAMILLE.email, True))
    assert not newsletter.is_suppressed(CAMILLE.email)
    [subscription] = newsletter.export(CAMILLE).records["subscription"]
    assert subscription["source"] == "dsr.consent.changed"


def test_newsletter_ignores_forms_without_email_consent(newsletter):
    data = quote(CAMILLE.email, marketing_consent={"email": False, "post": True})
    newsletter.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, data)
    assert newsletter.lookup(CAMILLE).holds_data is False


def test_newsletter_suppression_hash_depends_on_the_secret(where, newsletter):
    other = NewsletterAdapter(where("other"), secret=b"another-key")
    assert newsletter.suppression_hash(CAMILLE.email) != other.suppression_hash(CAMILLE.email)
    assert newsletter.suppression_hash(CAMILLE.email) == newsletter.suppression_hash(" CAMILLE.durand@example.test")


# --- Sample people --------------------------------------------------------------------------------


@pytest.fixture
def systems(crm, recruitment, newsletter):
    return crm, recruitment, newsletter


def test_sample_people_are_seeded_once(systems):
    crm, recruitment, newsletter = systems
    seed_sample_people(crm, recruitment, newsletter)
    first = [s.export(Subject(email=e)) for s in systems for e in _sample_emails()]
    seed_sample_people(crm, recruitment, newsletter)
    assert [s.export(Subject(email=e)) for s in systems for e in _sample_emails()] == first
    camille = crm.export(Subject(email="camille.durand@example.test")).records
    assert (len(camille["quote_requests"]), len(camille["call_notes"]), len(camille["invoices"])) == (2, 1, 1)
    assert newsletter.lookup(Subject(email="camille.durand@example.test")).holds_data is True
    assert recruitment.export(Subject(email="lucas.bernard@example.test")).records["cv_files"]
    assert len(newsletter.export(Subject(email="emma.petit@example.test")).records["campaign_events"]) == 3


def test_seeding_at_restart_does_not_bring_back_an_erased_sample_person(systems):
    crm, recruitment, newsletter = systems
    seed_sample_people(crm, recruitment, newsletter)
    camille = Subject(email="camille.durand@example.test")
    crm.erase(camille)
    seed_sample_people(crm, recruitment, newsletter)
    assert crm.lookup(camille).holds_data is False
    assert len(crm.export(camille).records["archived_invoices"]) == 1


def _sample_emails() -> list[str]:
    return ["camille.durand@example.test", "lucas.bernard@example.test", "emma.petit@example.test"]
