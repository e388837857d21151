"""The mailer's commands on `dsr.notifications`: e-mails to send (personal parts sealed), records to forget."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Discriminator, Field, Tag, TypeAdapter

from schemas.base import WireModel
from schemas.sealed import Sealed


class Recipient(StrEnum):
    SUBJECT = "subject"  # the address on file (or the heir, executor or representative who gets the answers)
    REQUESTER = "requester"  # L2: the address an unconfirmed request came from (Art. 11(2), 12(2))
    DPO = "dpo"


class MessageType(StrEnum):
    """Every e-mail the pipeline sends: one folder per member in templates/email/, in French and English."""

    FORM_ACKNOWLEDGEMENT = "form_acknowledgement"
    RECEIPT = "receipt"
    VERIFICATION = "verification"
    OUTCOME_ERASURE = "outcome_erasure"
    OUTCOME_ACCESS = "outcome_access"
    OUTCOME_NO_DATA = "outcome_no_data"
    DPO_TASK_OVERDUE = "dpo_task_overdue"
    DPO_TASK_FAILED = "dpo_task_failed"
    DPO_DEADLINE_REMINDER = "dpo_deadline_reminder"
    DPO_MAIL_PARKED = "dpo_mail_parked"
    # Identity (LEGAL §3.2-3.4, R14-R17)
    VERIFICATION_CHALLENGE = "verification_challenge"
    VERIFICATION_REMINDER = "verification_reminder"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    ID_DOCUMENT_REQUEST = "id_document_request"
    DEADLINE_UPDATE = "deadline_update"
    CHALLENGE_UNANSWERED = "challenge_unanswered"
    # Deadlines, fees and refusals (R10, R11, R19-R21)
    EXTENSION = "extension"
    FEE_NOTICE = "fee_notice"
    REFUSAL = "refusal"
    # The other rights (LEGAL §4.2-4.6, R25-R31)
    OUTCOME_RECTIFICATION = "outcome_rectification"
    OUTCOME_RESTRICTION = "outcome_restriction"
    RESTRICTION_LIFT_NOTICE = "restriction_lift_notice"
    OUTCOME_PORTABILITY = "outcome_portability"
    PORTABILITY_NOT_APPLICABLE = "portability_not_applicable"
    OUTCOME_OBJECTION = "outcome_objection"
    OBJECTION_DECISION = "objection_decision"
    OUTCOME_CONSENT_WITHDRAWAL = "outcome_consent_withdrawal"
    # Death and post-mortem directives (LIL 84-85, R37-R40)
    DIRECTIVE_RECORDED = "directive_recorded"
    DIRECTIVE_REVOKED = "directive_revoked"
    HEIR_RECEIPT = "heir_receipt"
    DEATH_PROOF_REQUEST = "death_proof_request"
    DEATH_PROOF_MISSING = "death_proof_missing"
    HEIR_JUSTIFICATION = "heir_justification"
    ESTATE_ACCESS = "estate_access"
    DPO_DECISION_NEEDED = "dpo_decision_needed"
    # The retention sweep (R44)
    DPO_RETENTION_REPORT = "dpo_retention_report"
    RETENTION_RECONTACT = "retention_recontact"  # a prospect asked once, before their end, whether to keep them


class EmailRequested(WireModel):
    """Send one e-mail once: `message_id` is deterministic, so replays are recognised and skipped."""

    message_id: str = Field(description="uuid5 of the case and the message type; also the Message-ID header.")
    request_id: str = Field(description="Case reference (or form submission id).")
    message_type: MessageType
    language: str
    recipient: Recipient
    to: Sealed | None = Field(default=None, description="Sealed address of the person written to; None for the DPO.")
    context: dict = Field(default_factory=dict, description="Template values without personal data.")
    sealed_context: Sealed | None = Field(default=None, description="Template values that are personal or secret.")
    requested_at: AwareDatetime


class ForgetSentEmails(WireModel):
    """R51: the case record was purged; the mailer forgets which of its e-mails were sent."""

    kind: Literal["forget_sent_emails"] = "forget_sent_emails"
    request_id: str = Field(description="The purged case.")


class EmailFollowedUp(WireModel):
    """A case asks what became of an e-mail it asked for and never heard was sent or parked (the request or the
    answer may have been lost on the way): the mailer tells it again, or that the request never reached it."""

    kind: Literal["email_followed_up"] = "email_followed_up"
    request_id: str = Field(description="The case that asked for the e-mail.")
    message_id: str = Field(description="The e-mail's message id, as in its EmailRequested.")
    message_type: MessageType
    recipient: Recipient


_KINDS = frozenset({"forget_sent_emails", "email_followed_up"})


def _kind(value) -> str:
    """E-mail requests carry no `kind` (they came first): anything without one is an e-mail request."""
    found = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return found if found in _KINDS else "email_requested"


MailerCommand = Annotated[
    Annotated[EmailRequested, Tag("email_requested")]
    | Annotated[ForgetSentEmails, Tag("forget_sent_emails")]
    | Annotated[EmailFollowedUp, Tag("email_followed_up")],
    Discriminator(_kind),
]
MailerCommandAdapter: TypeAdapter[MailerCommand] = TypeAdapter(MailerCommand)


def parse_mailer_command(raw: bytes) -> EmailRequested | ForgetSentEmails | EmailFollowedUp:
    return MailerCommandAdapter.validate_json(raw)
