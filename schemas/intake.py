"""The ingress contract: CloudEvents 1.0 (structured JSON) on `dsr.intake`, one data model per type."""

from __future__ import annotations

import json
import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, ValidationError, field_validator, model_validator

from schemas.base import WireModel
from schemas.identity import EmailStr, IdentityType, SubjectIdentity

MAX_EVENT_BYTES = 1_000_000
EmailAdapter = TypeAdapter(EmailStr)


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class Right(StrEnum):
    """The rights the privacy policy promises (GDPR Arts 15-22, LIL 85)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    POST_MORTEM = "post_mortem"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"


class MarketingConsent(WireModel):
    """Consent to marketing, per channel, with its proof (R32: recorded per channel)."""

    email: bool = Field(default=False, description="Consents to e-mail marketing.")
    sms: bool = Field(default=False, description="Consents to SMS marketing.")
    phone: bool = Field(
        default=False, description="Consents to telephone prospecting (prior consent since 11 Aug 2026)."
    )
    post: bool = Field(default=False, description="Accepts postal marketing.")
    wording_version: str | None = Field(
        default=None, max_length=64, description="Version of the consent wording shown.", examples=["2026-09"]
    )

    def channels(self) -> list[Channel]:
        return [c for c in Channel if getattr(self, c.value)]


class PostalAddress(WireModel):
    street: str = Field(max_length=200, examples=["12 rue des Lilas"])
    postal_code: str = Field(max_length=16, examples=["69003"])
    city: str = Field(max_length=100, examples=["Lyon"])
    country: str = Field(default="FR", max_length=2, examples=["FR"])


class _Submission(WireModel):
    first_name: str = Field(min_length=1, max_length=100, examples=["Jeanne"])
    last_name: str = Field(min_length=1, max_length=100, examples=["Martin"])
    email: EmailStr = Field(description="Address of the person submitting.", examples=["jeanne.martin@example.fr"])
    phone: str | None = Field(default=None, max_length=32, examples=["+33 6 12 34 56 78"])
    language: Language = Field(default=Language.FR, description="Language for e-mails to the person.")
    marketing_consent: MarketingConsent = Field(default_factory=MarketingConsent)
    birth_date: date | None = Field(
        default=None, description="Only where the form asks it (job applications): marks a minor (R41-R43)."
    )
    parental_consent: bool = Field(
        default=False,
        description="A holder of parental authority consented too; needed for consent under 15 (LIL 45, R41).",
    )


class QuoteRequested(_Submission):
    """`dsr.form.quote_requested`: a prospect asks for a quote."""

    postal_address: PostalAddress | None = None
    service: str = Field(max_length=100, description="Service asked for.", examples=["plomberie"])
    message: str = Field(default="", max_length=5000, examples=["Fuite sous l'évier."])


class ContactSubmitted(_Submission):
    """`dsr.form.contact_submitted`: a message through the contact form."""

    message: str = Field(max_length=5000, examples=["Êtes-vous ouverts le samedi ?"])


class JobApplicationSubmitted(_Submission):
    """`dsr.form.job_application_submitted`: an application; the CV travels as a reference only."""

    position: str = Field(max_length=200, examples=["Technicien chauffagiste"])
    candidate_kind: Literal["employee", "franchisee"] = Field(default="employee")
    cv_ref: str | None = Field(
        default=None,
        max_length=500,
        description="Reference to the CV in the website's file store (never the file itself).",
        examples=["s3://careers-uploads/2026/11/cv-7f3a.pdf"],
    )
    talent_pool_consent: bool = Field(default=False, description="Consent to be kept for future openings.")


class Rectification(WireModel):
    """Rectification (Art. 16, R25): the corrected or completed values; only these fields can be changed."""

    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    postal_address: PostalAddress | None = None

    def changes(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


class ObjectionScope(StrEnum):
    DIRECT_MARKETING = "direct_marketing"  # Art. 21(2): absolute (R30)
    LEGITIMATE_INTEREST = "legitimate_interest"  # Art. 21(1): the DPO weighs it (R29)


class RestrictionGround(StrEnum):
    """The four cases of Art. 18(1) (R27)."""

    ACCURACY_CONTESTED = "accuracy_contested"  # 18(1)(a)
    UNLAWFUL_PROCESSING = "unlawful_processing"  # 18(1)(b)
    LEGAL_CLAIMS = "legal_claims"  # 18(1)(c)
    OBJECTION_PENDING = "objection_pending"  # 18(1)(d)


class IdentityAssurance(StrEnum):
    """How the website already knows who is asking (LEGAL §3.2)."""

    NONE = "none"  # a form anyone can fill in: L1 or L2
    AUTHENTICATED = "authenticated"  # customer space or a marketing e-mail's own link: L0, never asked more


class PostMortemAction(StrEnum):
    """French law, LIL 85 (R37-R40)."""

    RECORD_DIRECTIVE = "record_directive"  # a living person leaves directives particulières
    REVOKE_DIRECTIVE = "revoke_directive"
    NOTIFY_DEATH = "notify_death"  # an heir or an executor reports a death
    ESTATE_ACCESS = "estate_access"  # an heir asks for what is needed to settle the estate (LIL 85-II, R39.3)


class PostMortem(WireModel):
    """Post-mortem directives and death notifications (LIL 85, R37-R40)."""

    action: PostMortemAction
    instructions: str | None = Field(
        default=None,
        max_length=5000,
        description="record_directive: what to do with the data (communicate, keep, erase).",
        examples=["Transmettre mon dossier à D. Martin, puis tout effacer."],
    )
    executor_name: str | None = Field(default=None, max_length=200, description="Person named to carry them out.")
    specific_consent: bool = Field(
        default=False,
        description="record_directive: the separate consent box was ticked (R38). Accepting the terms is not consent.",
    )
    requester_role: Literal["heir", "executor"] | None = Field(
        default=None, description="notify_death, estate_access: who asks."
    )
    requester_name: str | None = Field(default=None, max_length=200)
    proof_of_death: bool = Field(
        default=False,
        description="notify_death, estate_access: the requester says they have the death certificate. Announced "
        "only: it is still uploaded behind the case's link and checked by the DPO before anything is done.",
    )
    proof_of_standing: bool = Field(
        default=False,
        description="notify_death, estate_access: the requester says they have the acte de notoriété or livret de "
        "famille (heir), or their identity (executor). Announced only, uploaded and checked like the certificate.",
    )
    wants_justification: bool = Field(default=False, description="The heir asks to be told what was done (LIL 85-II).")


class Representative(WireModel):
    """Someone acting for the person (R6, R43, GS-24): a lawyer, a parent, an association. The request's
    `contact_email` is theirs; a person checks their identity and mandate before anything is done."""

    role: Literal["lawyer", "parent", "association", "other"]
    name: str | None = Field(default=None, max_length=200)
    mandate_provided: bool = Field(
        default=False, description="A signed mandate (or proof of parental authority) came with the request."
    )
    answer_to: Literal["representative", "subject"] = Field(
        default="representative", description="Who receives the answers, as the mandate says."
    )


class RightsRequested(WireModel):
    """`dsr.rights.requested`: a data-subject request (OpenDSR vocabulary). No reason is ever required (R3)."""

    subject_request_type: Right = Field(description="The right exercised.", examples=["erasure"])
    subject_identities: list[SubjectIdentity] = Field(min_length=1, max_length=10)
    subject_name: str | None = Field(default=None, max_length=200, examples=["Jeanne Martin"])
    language: Language = Field(default=Language.FR)
    submitted_time: AwareDatetime | None = Field(
        default=None,
        description="When the request reached the controller (R2); defaults to the CloudEvent time.",
    )
    message: str = Field(default="", max_length=5000, description="Free text from the person, optional.")
    contact_email: EmailStr | None = Field(
        default=None,
        description="Address the request came from, when it is not the subject's address on file: the answer "
        "still only goes to the address on file, after a challenge there (L2, R18).",
    )
    identity_assurance: IdentityAssurance = Field(default=IdentityAssurance.NONE)
    rectification: Rectification | None = Field(default=None, description="rectification: the new values.")
    channels: list[Channel] = Field(
        default_factory=list,
        description="objection, consent_withdrawal: the marketing channels; empty means every channel.",
    )
    objection_scope: ObjectionScope = Field(default=ObjectionScope.DIRECT_MARKETING)
    restriction_ground: RestrictionGround | None = Field(
        default=None, description="restriction: the Art. 18(1) case; objection: restrict meanwhile if set."
    )
    minor_at_collection: bool = Field(
        default=False, description="The data were collected while the person was a minor (LIL 51-II, R42)."
    )
    post_mortem: PostMortem | None = None
    representative: Representative | None = None

    @model_validator(mode="after")
    def _right_needs_its_fields(self) -> RightsRequested:
        if self.representative is not None and self.contact_email is None:
            raise ValueError("a request through a representative needs contact_email: the representative's address")
        if self.subject_request_type == Right.RECTIFICATION and not (
            self.rectification and self.rectification.changes()
        ):
            raise ValueError("a rectification needs 'rectification' with at least one corrected field")
        if self.subject_request_type == Right.POST_MORTEM and self.post_mortem is None:
            raise ValueError("a post_mortem request needs 'post_mortem' with its action")
        return self

    @field_validator("subject_identities")
    @classmethod
    def _needs_email(cls, identities: list[SubjectIdentity]) -> list[SubjectIdentity]:
        emails = [i for i in identities if i.identity_type == IdentityType.EMAIL]
        if not emails:
            raise ValueError("at least one identity of type 'email' is required to answer the person")
        for identity in emails:
            EmailAdapter.validate_python(identity.identity_value)
        return identities

    def email(self) -> str:
        return next(i.identity_value for i in self.subject_identities if i.identity_type == IdentityType.EMAIL)


class ConsentChanged(WireModel):
    """`dsr.consent.changed`: a marketing consent given or withdrawn on one channel (R31)."""

    email: EmailStr
    channel: Channel
    granted: bool
    wording_version: str | None = Field(default=None, max_length=64)
    language: Language = Field(default=Language.FR)


class EventType(StrEnum):
    QUOTE_REQUESTED = "dsr.form.quote_requested"
    JOB_APPLICATION_SUBMITTED = "dsr.form.job_application_submitted"
    CONTACT_SUBMITTED = "dsr.form.contact_submitted"
    RIGHTS_REQUESTED = "dsr.rights.requested"
    CONSENT_CHANGED = "dsr.consent.changed"


DATA_MODELS: dict[EventType, type[WireModel]] = {
    EventType.QUOTE_REQUESTED: QuoteRequested,
    EventType.JOB_APPLICATION_SUBMITTED: JobApplicationSubmitted,
    EventType.CONTACT_SUBMITTED: ContactSubmitted,
    EventType.RIGHTS_REQUESTED: RightsRequested,
    EventType.CONSENT_CHANGED: ConsentChanged,
}

FORM_TYPES = (EventType.QUOTE_REQUESTED, EventType.CONTACT_SUBMITTED, EventType.JOB_APPLICATION_SUBMITTED)


# CloudEvents 1.0 §3.1.1: attribute names are lower-case ASCII letters and digits; extensions are any such
# name beyond the context attributes (traceparent, partitionkey ...). Their values are scalars (§3.1.3).
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "data"}
)
MAX_EXTENSIONS = 20
ExtensionValue = Annotated[str, Field(max_length=2000)] | bool | int


class CloudEvent(WireModel):
    """CloudEvents 1.0 envelope, structured JSON mode. Extension attributes are kept aside, never interpreted."""

    specversion: Literal["1.0"] = Field(description="CloudEvents version; only 1.0 is accepted.")
    id: str = Field(min_length=1, max_length=200, description="Unique per event; used to deduplicate.")
    source: str = Field(min_length=1, max_length=500, examples=["https://www.example.fr/devis"])
    type: EventType
    time: AwareDatetime = Field(description="When the event happened (RFC 3339).")
    datacontenttype: str = Field(
        default="application/json",
        max_length=100,
        description="application/json, parameters allowed (application/json; charset=utf-8).",
    )
    dataschema: str | None = None
    subject: str | None = None
    data: dict
    extensions: dict[str, ExtensionValue] = Field(
        default_factory=dict,
        max_length=MAX_EXTENSIONS,
        description="CloudEvents extension attributes (traceparent, partitionkey ...), as top-level attributes "
        "on the wire; carried along, never interpreted.",
    )

    @model_validator(mode="before")
    @classmethod
    def _gather_extensions(cls, raw):
        if not isinstance(raw, dict):
            return raw
        extensions = {k: v for k, v in raw.items() if k not in CONTEXT_ATTRIBUTES}
        bad = sorted(k for k in extensions if not EXTENSION_NAME.match(str(k)))
        if bad:
            raise ValueError(f"{len(bad)} attribute name(s) that are neither CloudEvents attributes nor extensions")
        return {**{k: v for k, v in raw.items() if k in CONTEXT_ATTRIBUTES}, "extensions": extensions}

    @field_validator("datacontenttype")
    @classmethod
    def _json_data(cls, value: str) -> str:
        media, _, params = value.partition(";")
        if media.strip().lower() != "application/json":
            raise ValueError("datacontenttype must be application/json (parameters such as charset are allowed)")
        charset = [p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";") if "charset=" in p.lower()]
        if charset and charset[0] not in ("utf-8", "utf8"):
            raise ValueError("data must be UTF-8 JSON")
        return value

    def to_structured(self) -> bytes:
        """Structured mode again (extensions back at the top level), as dsr.intake carries it."""
        envelope = self.model_dump(mode="json", exclude_none=True, exclude={"extensions"})
        return json.dumps({**envelope, **self.extensions}, ensure_ascii=False).encode()


class IntakeError(ValueError):
    """Why an ingress message cannot be processed; the reason goes to the dead-letter header. `reasons`: the
    same, field by field, for an HTTP answer."""

    def __init__(self, reason: str, reasons: list[dict] | None = None) -> None:
        super().__init__(reason)
        self.reasons = reasons if reasons is not None else [{"field": "", "reason": reason}]


def parse_intake(raw: bytes) -> tuple[CloudEvent, WireModel]:
    """Validate one ingress message into its envelope and typed data, or raise IntakeError."""
    if len(raw) > MAX_EVENT_BYTES:
        raise IntakeError(f"payload of {len(raw)} bytes exceeds the {MAX_EVENT_BYTES} byte limit")
    try:
        event = CloudEvent.model_validate_json(raw)
        return event, DATA_MODELS[event.type].model_validate(event.data)
    except ValidationError as exc:
        raise IntakeError(describe(exc), field_reasons(exc)) from None


def field_reasons(exc: ValidationError, limit: int = 20) -> list[dict]:
    """Each field at fault and why, never its value (it may be personal data)."""
    return [
        {"field": ".".join(str(p) for p in error["loc"]) or "message", "reason": error["msg"]}
        for error in exc.errors(include_input=False, include_url=False)[:limit]
    ]


def describe(exc: ValidationError) -> str:
    """A readable reason that never echoes input values (they may be personal data)."""
    return "; ".join(f"{r['field']}: {r['reason']}" for r in field_reasons(exc, 5))
