"""Fictitious sample people seeded into the reference systems for the dev stack."""

from __future__ import annotations

from handlers.protocol import Subject
from handlers.reference.crm import CrmAdapter
from handlers.reference.newsletter import NewsletterAdapter
from handlers.reference.recruitment import RecruitmentAdapter
from schemas.intake import EventType


def seed_sample_people(crm: CrmAdapter, recruitment: RecruitmentAdapter, newsletter: NewsletterAdapter) -> None:
    """Fictitious people for the dev stack. Safe at every start, and never brings back someone erased."""
    _seed_camille(crm, newsletter)
    _seed_lucas(recruitment)
    _seed_emma(newsletter)


CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
LUCAS = Subject(email="lucas.bernard@example.test", name="Lucas Bernard")
EMMA = Subject(email="emma.petit@example.test", name="Emma Petit")


def _seed_camille(crm: CrmAdapter, newsletter: NewsletterAdapter) -> None:
    person = {
        "first_name": "Camille",
        "last_name": "Durand",
        "email": CAMILLE.email,
        "phone": "+33 6 12 34 56 78",
        "language": "fr",
        "marketing_consent": {"email": True, "wording_version": "2026-09"},
        "postal_address": {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon", "country": "FR"},
    }
    quotes = [
        ("sample-camille-quote-1", "plomberie", "Fuite sous l'évier."),
        ("sample-camille-quote-2", "chauffage", "Entretien annuel de la chaudière."),
    ]
    for submission_id, service, message in quotes:
        data = person | {"service": service, "message": message}
        crm.record_submission(submission_id, EventType.QUOTE_REQUESTED.value, CAMILLE, data)
        newsletter.record_submission(submission_id, EventType.QUOTE_REQUESTED.value, CAMILLE, data)
    crm.add_call_note(
        CAMILLE.email, "Rappelée pour fixer la visite du technicien.", "outbound", key="sample-camille-call-1"
    )
    crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14", paid_at="2025-03-28")


def _seed_lucas(recruitment: RecruitmentAdapter) -> None:
    data = {
        "first_name": "Lucas",
        "last_name": "Bernard",
        "email": LUCAS.email,
        "phone": "+33 7 98 76 54 32",
        "language": "fr",
        "position": "Technicien chauffagiste",
        "candidate_kind": "employee",
        "cv_ref": "s3://careers-uploads/sample/cv-lucas-bernard.pdf",
        "talent_pool_consent": True,
    }
    submission_id = "sample-lucas-application-1"
    recruitment.record_submission(submission_id, EventType.JOB_APPLICATION_SUBMITTED.value, LUCAS, data)
    recruitment.assess(submission_id, "Profil solide en chauffage ; à recontacter.")


def _seed_emma(newsletter: NewsletterAdapter) -> None:
    consent = {"email": EMMA.email, "channel": "email", "granted": True, "wording_version": "2026-09", "language": "fr"}
    newsletter.record_submission("sample-emma-consent-1", EventType.CONSENT_CHANGED.value, EMMA, consent)
    events = [("2026-10-lettre", "sent"), ("2026-10-lettre", "opened"), ("2026-10-lettre", "clicked")]
    for number, (campaign, event) in enumerate(events, 1):
        newsletter.add_campaign_event(EMMA.email, campaign, event, key=f"sample-emma-event-{number}")
