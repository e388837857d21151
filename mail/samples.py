"""Sample values of the e-mails, one fictitious context per type: `dsr mail preview` renders them (so they ship)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from mail.labels import SUPPRESSION_GROUND
from mail.templates import MESSAGE_TYPES
from schemas.notifications import MessageType


def sample_context(message_type: str) -> dict[str, Any]:
    """Fictitious but realistic values for each message type (`dsr mail preview`, and the template tests)."""
    if message_type not in MESSAGE_TYPES:
        choices = ", ".join(MESSAGE_TYPES)
        raise ValueError(f"unknown message type {message_type!r}; expected one of: {choices}")
    return copy.deepcopy({"controller": _SAMPLE_CONTROLLER, **_SAMPLES[message_type]})


_SAMPLE_CONTROLLER = {
    "name": "Maison Services Exemple SAS",
    "dpo_email": "dpo@maison-services.example",
    "postal_address": "12 rue des Artisans, 69003 Lyon, France",
    "privacy_url": "https://www.maison-services.example/confidentialite",
}
# Scenarios GS-01 and GS-06 of LEGAL §6: received 5 Mar 2027, D1 5 Apr 2027.
_CASE = {"case_reference": "DSR-2027-0042", "received_on": date(2027, 3, 5)}
_CRM = {"fr": "Gestion de la relation client (CRM)", "en": "Customer relationship management (CRM)"}
_MAILING = {"fr": "Outil d'e-mailing", "en": "E-mailing tool"}
_FORMS = {"fr": "Formulaires du site", "en": "Website forms"}
_FRANCHISEE = "Maison Services Lyon Est (franchisé)"
# GS-02/GS-03 of LEGAL §6: request on 1 Mar 2027 from an unknown address, challenge sent on 2 Mar
# to the address on file, reminder at challenge + 14 days, closure at challenge + 30 days.
_L2_CASE = {"case_reference": "DSR-2027-0042", "received_on": date(2027, 3, 1)}
_VERIFY_URL = "https://dsr.maison-services.example/confirmer/3f9c2a7e41b8?lang=fr&s=1"

# GS-01 and GS-25: the Art. 15(1)(a)-(h) and 15(2) information, tailored to the person.
_ACCESS_INFORMATION = {
    "purposes": [
        {
            "label": {"fr": "Suivi de votre demande de devis", "en": "Handling your quote request"},
            "legal_basis": "contract",
        },
        {
            "label": {"fr": "Envoi d'offres commerciales par e-mail", "en": "E-mail marketing"},
            "legal_basis": "consent",
        },
        {
            "label": {"fr": "Organisation de nos rappels", "en": "Planning our follow-up calls"},
            "legal_basis": "legitimate_interest",
        },
    ],
    "categories": [
        {"label": {"fr": "Identité et coordonnées", "en": "Identity and contact details"}},
        {"label": {"fr": "Description de votre projet", "en": "Description of your project"}},
        {"label": {"fr": "Score de prospect", "en": "Lead score"}},
    ],
    "recipients": [
        {
            "name": "Maison Services Lyon Est",
            "country": "FR",
            "third_country": False,
            "safeguard_label": None,
        },
        {
            "name": "Envoimail Inc.",
            "country": "US",
            "third_country": True,
            "safeguard_label": {
                "fr": "certification au cadre de protection des données UE-États-Unis (DPF,"
                " décision (UE) 2023/1795), et clauses contractuelles types 2021/914 également"
                " en place",
                "en": "certified under the EU-US Data Privacy Framework (Decision (EU)"
                " 2023/1795), with standard contractual clauses 2021/914 also in place",
            },
        },
    ],
    "retention": [
        {
            "category": {"fr": "Données de prospection", "en": "Prospect data"},
            "rule": {
                "fr": "3 ans à compter de votre dernier contact avec nous",
                "en": "3 years from your last contact with us",
            },
        },
        {
            "category": {"fr": "Factures", "en": "Invoices"},
            "rule": {
                "fr": "10 ans à compter de la clôture de l'exercice (obligation comptable)",
                "en": "10 years from the end of the financial year (accounting obligation)",
            },
        },
    ],
    "sources": [
        {
            "fr": "Maison Services Lyon Est, qui nous a transmis votre demande de devis",
            "en": "Maison Services Lyon Est, which passed on your quote request",
        },
    ],
    "automated_decisions": {
        "exists": False,
        # Shown only when such decisions exist (Art. 15(1)(h)): it then explains their logic.
        "label": {
            "fr": "Le score de prospect sert uniquement à organiser nos rappels.",
            "en": "The lead score is only used to plan our follow-up calls.",
        },
    },
}
_SAMPLES: dict[MessageType, dict[str, Any]] = {
    MessageType.RETENTION_RECONTACT: {
        "reference": "recontact-2027-03-08",
        "end_date": date(2027, 3, 18),
        "keep_url": "https://dsr.maison-services.example/keep/eyJyIjoiYzNmOSJ9.k3Xq",
    },
    MessageType.DPO_RETENTION_REPORT: {
        "reference": "retention-5a23b518cbe45f15",
        "plan_id": "5a23b518cbe45f15",
        "as_of": date(2027, 3, 8),
        "people": 214,
        "rows": [
            {
                "system": _CRM,
                "category": {"fr": "Demandes de devis", "en": "Quote requests"},
                "action": "delete",
                "count": 180,
                "records": 236,
                "held": 1,
                "end_date": date(2027, 1, 4),
                "last_end_date": date(2027, 3, 7),
            },
            {
                "system": _CRM,
                "category": {"fr": "Factures et paiements", "en": "Invoices and payments"},
                "action": "archive",
                "count": 34,
                "records": 51,
                "held": 0,
                "end_date": date(2027, 2, 1),
                "last_end_date": date(2027, 3, 1),
            },
        ],
        "unsupported": ["billing"],
        "waiting": 12,
    },
    MessageType.FORM_ACKNOWLEDGEMENT: {
        "reference": "DEV-2027-01183",
        "form_kind": "quote",
        "submitted_on": date(2027, 3, 5),
    },
    MessageType.RECEIPT: {
        "status_url": "https://dsr.maison-services.example/status/eyJwIjoic3RhdHVzIn0.c2ln",
        **_CASE,
        "right": "access",
        "deadline": date(2027, 4, 5),
        "priority": False,
        "confirmation": "link",
    },
    MessageType.VERIFICATION: {
        "case_reference": _CASE["case_reference"],
        "right": "access",
        "verify_url": "https://dsr.maison-services.example/confirmer/3f9c2a7e41b8?lang=fr&s=1",
        "expires_on": date(2027, 3, 12),
        "marketing_stopped": False,
    },
    MessageType.OUTCOME_ERASURE: {
        **_CASE,
        "completed_on": date(2027, 4, 1),
        "systems": [
            {"name": _CRM, "erased_items": 14},
            {"name": _MAILING, "erased_items": 37},
            {"name": "Téléphonie (notes d'appels)", "erased_items": 1},
        ],
        "kept": [
            {
                "system": {"fr": "Archive comptable", "en": "Accounting archive"},
                "item": {
                    "fr": "Factures F-2025-0117 et F-2026-0342",
                    "en": "Invoices F-2025-0117 and F-2026-0342",
                },
                "ground": "legal_obligation",
                "until": date(2036, 12, 31),
            },
            {
                "system": {"fr": "Service client", "en": "Customer service"},
                "item": {"fr": "Dossier de réclamation en cours", "en": "Open dispute file"},
                "ground": "legal_claims",
                "until": None,
            },
            {
                "system": _MAILING,
                "item": {
                    "fr": "Empreinte de votre adresse e-mail",
                    "en": "Fingerprint of your e-mail address",
                },
                "ground": SUPPRESSION_GROUND,
                "until": None,
            },
        ],
        "recipients_notified": [_FRANCHISEE, "Envoimail Inc."],
    },
    MessageType.OUTCOME_ACCESS: {
        **_CASE,
        "download_url": "https://dsr.maison-services.example/telechargement/8d41c0f2?t=a1&v=2",
        "download_expires_on": date(2027, 4, 19),
        "systems": [
            {"name": _CRM, "item_count": 42},
            {"name": _MAILING, "item_count": 118},
            {"name": _FORMS, "item_count": 1},
        ],
        "information": _ACCESS_INFORMATION,
    },
    MessageType.OUTCOME_NO_DATA: {**_CASE, "right": "erasure", "confirmed": True, "deceased": False},
    MessageType.DPO_TASK_OVERDUE: {
        "case_reference": _CASE["case_reference"],
        "system": _CRM,
        "action": "erase",
        "issued_at": datetime(2027, 3, 8, 13, 30, tzinfo=UTC),
        "waited": "2 h",
        "deadline": date(2027, 4, 5),
    },
    MessageType.DPO_TASK_FAILED: {
        "case_reference": _CASE["case_reference"],
        "system": _CRM,
        "action": "erase",
        "error": "OperationalError",
        "deadline": date(2027, 4, 5),
    },
    MessageType.DPO_DEADLINE_REMINDER: {
        "case_reference": _CASE["case_reference"],
        "right": "access",
        "deadline": date(2027, 6, 7),  # GS-13 extended: D3 (b); refusals were due by D1
        "days_left": 5,
        "status": "processing",
        "extended": True,
        "d1": date(2027, 4, 5),
    },
    MessageType.DPO_MAIL_PARKED: {
        "case_reference": _CASE["case_reference"],
        "message_type": "outcome_access",
        "attempts": 5,
        "last_error": "550 5.1.1 <jeanne.exemple@example.org>: Recipient address rejected",
    },
    MessageType.VERIFICATION_CHALLENGE: {
        **_L2_CASE,
        "right": "access",
        "expires_on": date(2027, 4, 1),
        "verify_url": _VERIFY_URL,
        "suspended": True,
        "deadline": date(2027, 4, 1),
        "marketing_stopped": False,
    },
    # An erasure: marketing stopped on receipt, before any confirmation (§3.2).
    MessageType.VERIFICATION_REMINDER: {
        **_L2_CASE,
        "right": "erasure",
        "verify_url": _VERIFY_URL,
        "closes_on": date(2027, 4, 1),
        "suspended": True,
        "marketing_stopped": True,
        "marketing_stopped_on": date(2027, 3, 2),
    },
    # GS-03 seen from the address the request came from: told how to prove who they are, nothing more.
    MessageType.CHALLENGE_UNANSWERED: {
        **_L2_CASE,
        "right": "access",
        "challenge_sent_on": date(2027, 3, 2),
        "closes_on": date(2027, 4, 1),
        "closed": False,
    },
    MessageType.IDENTITY_NOT_VERIFIED: {
        **_L2_CASE,
        "right": "erasure",
        "challenge_sent_on": date(2027, 3, 2),
        "closed_on": date(2027, 4, 1),
        "marketing_stopped": True,
        "marketing_stopped_on": date(2027, 3, 2),
    },
    MessageType.ID_DOCUMENT_REQUEST: {
        "upload_url": "https://dsr.maison-services.example/upload/eyJwIjoidXBsb2FkIn0.c2ln",
        **_CASE,
        "right": "access",
        "reason": "challenge_failed",
        "suspended": True,
        "deadline": date(2027, 4, 5),
    },
    # GS-02: challenge sent on 2 March, confirmed on 10 March: 8 days, raw D1 1 April + 8 = Fri 9 April.
    MessageType.DEADLINE_UPDATE: {
        **_L2_CASE,
        "right": "access",
        "suspended_from": date(2027, 3, 2),
        "confirmed_on": date(2027, 3, 10),
        "suspended_days": 8,
        "initial_deadline": date(2027, 4, 1),
        "deadline": date(2027, 4, 9),
    },
    # GS-13: received Sunday 31 Jan 2027; raw D1 Sun 28 Feb -> D1 Mon 1 Mar; D3 28 Apr 2027.
    MessageType.EXTENSION: {
        "case_reference": _CASE["case_reference"],
        "right": "access",
        "received_on": date(2027, 1, 31),
        "deadline": date(2027, 3, 1),
        "new_deadline": date(2027, 4, 28),
        "reasons": ["spread_across_systems", "several_requests"],
        "explanation": {
            "fr": "Vos données se trouvent dans quatre de nos systèmes et chez deux franchisés.",
            "en": "Your data are held in four of our systems and by two franchisees.",
        },
        "deceased": False,
    },
    # GS-14: a fourth identical access request in eight weeks, nothing changed since.
    MessageType.FEE_NOTICE: {
        **_CASE,
        "right": "access",
        "amount_cents": 1500,
        "basis": "further_copy",
        "facts": {
            "fr": "Quatrième demande identique en 8 semaines (< 2 mois), sans modification de vos"
            " données depuis la copie remise le 15 janvier 2027.",
            "en": "Fourth identical request in 8 weeks (< 2 months), with no change to your data"
            " since the copy sent on 15 January 2027.",
        },
        "respond_by": date(2027, 3, 19),
    },
    MessageType.REFUSAL: {
        **_CASE,
        "right": "access",
        "reason": "manifestly_excessive",
        "explanation": {
            "fr": "Vous nous avez adressé la même demande quatre fois en huit semaines et vous"
            " avez reçu une copie complète de vos données le 15 janvier 2027.",
            "en": "You have sent us the same request four times in eight weeks and received a"
            " full copy of your data on 15 January 2027.",
        },
        "partial": False,
        "deceased": False,
    },
    # GS-10: a new postal address, updated everywhere; the franchisee handling the quote told.
    MessageType.OUTCOME_RECTIFICATION: {
        **_CASE,
        "completed_on": date(2027, 3, 10),
        "changes": [
            {
                "field": "postal_address",
                "old": "4 impasse des Lilas, 69100 Villeurbanne",
                "new": "18 cours Vitton, 69006 Lyon",
            },
            {"field": "phone", "old": None, "new": "+33 6 12 34 56 78"},
        ],
        "updated": [_CRM, _FORMS],
        "checked": [_MAILING],  # it held neither field: nothing to change there
        "failed": [],
        "recipients_notified": [_FRANCHISEE],
        "unchanged": False,
    },
    # GS-11: restriction pending an accuracy dispute.
    MessageType.OUTCOME_RESTRICTION: {
        **_CASE,
        "completed_on": date(2027, 3, 8),
        "ground": "accuracy_contested",
        "systems": [{"name": _CRM}, {"name": _MAILING}],
        "recipients_notified": [_FRANCHISEE],
    },
    MessageType.RESTRICTION_LIFT_NOTICE: {
        "case_reference": _CASE["case_reference"],
        "ground": "accuracy_contested",
        "lift_on": date(2027, 4, 2),
        "systems": [{"name": _CRM}, {"name": _MAILING}],
        "reason": "accuracy_verified",
    },
    # GS-12a: provided and observed data, lead score excluded.
    MessageType.OUTCOME_PORTABILITY: {
        **_CASE,
        "download_expires_on": date(2027, 4, 19),
        "download_url": "https://dsr.maison-services.example/telechargement/5be07a9d?t=p1&v=2",
        "systems": [
            {"name": _CRM, "item_count": 12},
            {"name": _FORMS, "item_count": 2},
        ],
        "excluded": [
            {
                "category": {"fr": "Messages du formulaire de contact", "en": "Contact form messages"},
                "system": _CRM,
                "reason": "basis",
                "bases": ["legitimate_interest"],
            },
            {
                "category": {"fr": "Identité et coordonnées", "en": "Identity and contact details"},
                "system": _CRM,
                "reason": "inferred_fields",
                "bases": [],
            },
        ],
    },
    # GS-12b: contact-form follow-up on legitimate interest.
    MessageType.PORTABILITY_NOT_APPLICABLE: {
        **_CASE,
        "excluded": [
            {
                "category": {"fr": "Messages du formulaire de contact", "en": "Contact form messages"},
                "system": _CRM,
                "reason": "basis",
                "bases": ["legitimate_interest"],
            },
        ],
        "access_offered": True,
    },
    # GS-08: "stop all marketing" by phone.
    MessageType.OUTCOME_OBJECTION: {
        **_CASE,
        "channels": ["email", "sms", "phone", "post"],
        "effective_on": date(2027, 3, 6),
        "suppression_kept": True,
        "suppression_until": date(2030, 3, 6),
        "profiling_stopped": True,
    },
    # Upheld, so that every key is read (`erased` only matters then); tests render the rejection.
    MessageType.OBJECTION_DECISION: {
        **_CASE,
        "upheld": True,
        "explanation": {
            "fr": "Le suivi de votre formulaire de contact n'était plus nécessaire.",
            "en": "Following up your contact form was no longer necessary.",
        },
        "erased": True,
    },
    MessageType.OUTCOME_CONSENT_WITHDRAWAL: {
        **_CASE,
        "channels": ["email", "sms"],
        "effective_on": date(2027, 3, 5),
        "erased": True,
    },
    # GS-18: directives particulières recorded through the dedicated form, then revoked.
    MessageType.DIRECTIVE_RECORDED: {
        "case_reference": _CASE["case_reference"],
        "recorded_on": date(2027, 3, 5),
        "executor_named": True,
    },
    MessageType.DIRECTIVE_REVOKED: {
        "case_reference": _CASE["case_reference"],
        "revoked_on": date(2027, 6, 14),
    },
    # GS-16: an heir reports a death.
    MessageType.HEIR_RECEIPT: {
        "status_url": "https://dsr.maison-services.example/status/eyJwIjoic3RhdHVzIn0.c2ln",
        **_CASE,
        "deadline": date(2027, 4, 5),
        "requester_role": "heir",
        "action": "notify_death",
        "proof_announced": False,
    },
    MessageType.DEATH_PROOF_REQUEST: {
        "upload_url": "https://dsr.maison-services.example/upload/eyJwIjoidXBsb2FkIn0.c2ln",
        **_CASE,
        "requester_role": "heir",
        "reminder": False,
        "closes_on": date(2027, 4, 4),
        "suspended": True,
        "deadline": date(2027, 4, 5),
    },
    MessageType.DEATH_PROOF_MISSING: {
        **_CASE,
        "requested_on": date(2027, 3, 5),
        "closed_on": date(2027, 4, 4),
        "report_url": "https://dsr.maison-services.example/request/death",
    },
    MessageType.HEIR_JUSTIFICATION: {
        **_CASE,
        "completed_on": date(2027, 3, 26),
        "marketing_stopped_on": date(2027, 3, 5),
        "systems": [
            {"name": _CRM, "erased_items": 14},
            {"name": _MAILING, "erased_items": 37},
        ],
        "kept": [
            {
                "system": {"fr": "Archive comptable", "en": "Accounting archive"},
                "item": {"fr": "Facture F-2026-0342", "en": "Invoice F-2026-0342"},
                "ground": "legal_obligation",
                "until": date(2036, 12, 31),
            },
        ],
        "directives_applied": False,
    },
    # An heir's request under LIL 85-II, after the DPO chose what the estate needs.
    MessageType.ESTATE_ACCESS: {
        **_CASE,
        "download_url": "https://dsr.maison-services.example/telechargement/77ac01e2?t=h1&v=2",
        "download_expires_on": date(2027, 4, 19),
        "categories": [{"fr": "Factures et paiements", "en": "Invoices and payments"}],
        "explanation": {
            "fr": "Une facture de mars 2027 reste à régler\u00a0: le notaire en aura besoin.",
            "en": "An invoice from March 2027 is still unpaid: the notary will need it.",
        },
    },
    MessageType.DPO_DECISION_NEEDED: {
        "case_reference": _CASE["case_reference"],
        "kind": "objection_general",
        "right": "objection",
        "deadline": date(2027, 4, 5),
        "d1": date(2027, 4, 5),
        "detail": {
            "fr": "Opposition au suivi des formulaires de contact",
            "en": "Objection to the follow-up of contact forms",
        },
    },
}
