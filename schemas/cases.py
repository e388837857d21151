"""Case events on `dsr.cases`, keyed by request id: the inputs of the coordinator, in the order they happened."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from schemas.base import WireModel
from schemas.decisions import Decision
from schemas.intake import Channel, Language, ObjectionScope, PostMortemAction, RestrictionGround, Right
from schemas.notifications import MessageType
from schemas.sealed import Sealed
from schemas.tasks import TaskResult


class IdentityLevel(StrEnum):
    """The ladder of LEGAL §3.2."""

    L0 = "L0"  # already authenticated: never asked anything
    L1 = "L1"  # from the address on file: a confirmation link to it
    L2 = "L2"  # from elsewhere: a challenge to the channel on file; the deadline is suspended (§2.4)
    L3 = "L3"  # an ID document checked by a person, then deleted (R16)


class PostMortemFacts(WireModel):
    """The non-personal facts of a post-mortem request (LIL 85); names and instructions travel sealed."""

    action: PostMortemAction
    requester_role: Literal["heir", "executor"] | None = None
    specific_consent: bool = False
    proof_of_death: bool = False  # announced on the request; proven only once the DPO checked it (identity_checked)
    proof_of_standing: bool = False
    wants_justification: bool = False
    executor_named: bool = False


class RequestDetails(WireModel):
    """What the request asks, beyond the right: procedural facts only (R50)."""

    identity_level: IdentityLevel = IdentityLevel.L1
    channels: list[Channel] = Field(default_factory=list)
    objection_scope: ObjectionScope | None = None
    restriction_ground: RestrictionGround | None = None
    minor_at_collection: bool = False
    post_mortem: PostMortemFacts | None = None
    representative_role: str | None = Field(default=None, description="R6: lawyer, parent, association, other.")
    mandate_provided: bool = False


class CaseOpened(WireModel):
    """A rights request was accepted at intake."""

    kind: Literal["case_opened"] = "case_opened"
    request_id: str
    source_event_id: str
    subject_ref: str
    right: Right
    language: Language
    received_at: AwareDatetime = Field(description="When the request reached an official channel (R2).")
    systems: list[str] = Field(description="Every system asked whether it holds data (discovery).")
    marketing_systems: list[str] = Field(
        default_factory=list, description="Systems used for marketing: told to stop on an objection (R30)."
    )
    subject: Sealed = Field(description="Sealed {email, name} of the person the data are about (address on file).")
    details: RequestDetails = Field(default_factory=RequestDetails)
    payload: Sealed | None = Field(
        default=None, description="Sealed request data: rectification values, or a directive's instructions."
    )
    reply_to: Sealed | None = Field(
        default=None, description="Sealed {email, name} of an heir or executor, who gets the answers (LIL 85)."
    )
    requester: Sealed | None = Field(
        default=None,
        description="Sealed {email, name} the request came from when it is not the address on file (L2): told "
        "whether the check succeeded and how to prove who they are, never whether data exist (Art. 11(2), 12(2)).",
    )


class TaskAnswered(WireModel):
    """A system answered a task (forwarded from `dsr.task-results`, export payload removed)."""

    kind: Literal["task_answered"] = "task_answered"
    request_id: str
    result: TaskResult
    portable_items: int | None = Field(
        default=None, description="export: records whose basis is consent or contract, provided or observed (R28)."
    )


class IdentityConfirmed(WireModel):
    """The person confirmed the request through the link sent to the address on file (POST, never GET)."""

    kind: Literal["identity_confirmed"] = "identity_confirmed"
    request_id: str
    token_id: str
    confirmed_at: AwareDatetime


class EmailSent(WireModel):
    """The SMTP server accepted an e-mail of this case."""

    kind: Literal["email_sent"] = "email_sent"
    request_id: str
    message_type: MessageType
    message_id: str
    sent_at: AwareDatetime
    recipient: str | None = Field(default=None, description="subject, requester or dpo (for the audit record).")


class EmailParked(WireModel):
    """An e-mail could not be delivered within the retry budget; it waits for the DPO."""

    kind: Literal["email_parked"] = "email_parked"
    request_id: str
    message_type: MessageType
    message_id: str
    parked_at: AwareDatetime
    reason: str


class ClockTicked(WireModel):
    """Time passed: deadlines, reminders and overdue tasks may now be due."""

    kind: Literal["clock_ticked"] = "clock_ticked"
    request_id: str
    now: AwareDatetime


class DpoDecided(WireModel):
    """A decision the law reserves for a person (LEGAL §1 D, R10, R11, R16, R21, R29, R46)."""

    kind: Literal["dpo_decided"] = "dpo_decided"
    request_id: str
    decision: Decision


class DirectiveRevoked(WireModel):
    """Sent to a directive's own case when the person revokes it (R38)."""

    kind: Literal["directive_revoked"] = "directive_revoked"
    request_id: str
    revoked_at: AwareDatetime
    by_request_id: str


class WithdrawnByPerson(WireModel):
    """The person withdrew the request from the status page behind the receipt's signed link."""

    kind: Literal["withdrawn_by_person"] = "withdrawn_by_person"
    request_id: str
    withdrawn_at: AwareDatetime


class DocumentKind(StrEnum):
    ID_DOCUMENT = "id_document"  # L3: an identity document (R14, R16)
    DEATH_PROOF = "death_proof"  # a death certificate and proof of standing (R39.1, R40)


class DocumentReceived(WireModel):
    """A document asked for arrived on the upload page: what and when, never its content. The suspension of the
    deadline ends at receipt (R12, LEGAL §2.4), whenever a person then checks it."""

    kind: Literal["document_received"] = "document_received"
    request_id: str
    document: DocumentKind
    received_at: AwareDatetime


CaseEvent = Annotated[
    CaseOpened
    | TaskAnswered
    | IdentityConfirmed
    | EmailSent
    | EmailParked
    | ClockTicked
    | DpoDecided
    | DirectiveRevoked
    | WithdrawnByPerson
    | DocumentReceived,
    Field(discriminator="kind"),
]
CaseEventAdapter: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)


def parse_case_event(raw: bytes) -> CaseEvent:
    return CaseEventAdapter.validate_json(raw)
