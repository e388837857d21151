"""The case record: procedural facts of one request (R50), its statuses and the transitions allowed between them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.cases import IdentityLevel, RequestDetails
from schemas.decisions import DecideEstateAccess, Extend, FlagExcessive, LiftRestriction, Refuse
from schemas.intake import Language, ObjectionScope, PostMortemAction, Right
from schemas.notifications import MessageType, Recipient
from schemas.sealed import Sealed
from schemas.tasks import KeptItem, LegalHold, TaskAction, TaskStatus

HEIR_ACTIONS = frozenset({PostMortemAction.NOTIFY_DEATH, PostMortemAction.ESTATE_ACCESS})


class Status(StrEnum):
    DISCOVERING = "discovering"  # asking every system whether it holds data
    AWAITING_VERIFICATION = "awaiting_verification"  # a link or challenge sent to the channel on file
    AWAITING_PROOF = "awaiting_proof"  # a death reported without proof of death and of standing (R39.1, R40)
    AWAITING_DECISION = "awaiting_decision"  # the law wants a person to decide (Art. 21(1), directives)
    PROCESSING = "processing"  # tasks out to the systems holding data
    ANSWERING = "answering"  # Art. 19 notices, then the outcome e-mail
    RESTRICTED = "restricted"  # Art. 18: answered; the data stay marked until the restriction is lifted
    CLOSED = "closed"


OPEN = frozenset(Status) - {Status.CLOSED}

TRANSITIONS: dict[Status, set[Status]] = {
    Status.DISCOVERING: {
        Status.AWAITING_VERIFICATION,
        Status.AWAITING_PROOF,
        Status.AWAITING_DECISION,
        Status.PROCESSING,
        Status.ANSWERING,
        Status.CLOSED,
    },
    Status.AWAITING_VERIFICATION: {Status.AWAITING_DECISION, Status.PROCESSING, Status.ANSWERING, Status.CLOSED},
    Status.AWAITING_PROOF: {Status.AWAITING_DECISION, Status.PROCESSING, Status.ANSWERING, Status.CLOSED},
    Status.AWAITING_DECISION: {Status.PROCESSING, Status.ANSWERING, Status.CLOSED},
    Status.PROCESSING: {Status.ANSWERING, Status.CLOSED},
    Status.ANSWERING: {Status.CLOSED, Status.RESTRICTED},
    Status.RESTRICTED: {Status.CLOSED},
    Status.CLOSED: set(),
}


class IllegalTransition(ValueError):
    pass


class MailAsked(BaseModel):
    """An e-mail still out, as the case asked for it: enough to ask for it again, or what became of it."""

    model_config = ConfigDict(frozen=True)

    command_id: str  # its message id derives from it: asked again, the very same e-mail
    message_type: MessageType
    recipient: Recipient
    params: dict = {}  # non-personal template values, as in the SendEmail command


class TaskRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_id: str
    system: str
    action: TaskAction
    issued_at: AwareDatetime
    key: str = ""  # distinguishes a second task of the same action (after a hold is released)
    params: dict = Field(default_factory=dict)  # its non-personal fields, to send the very same task again
    status: TaskStatus | None = None
    holds_data: bool | None = None
    erased_items: int = 0
    exported_items: int = 0
    portable_items: int | None = None
    restricted_items: int = 0
    fields_changed: tuple[str, ...] = ()
    changes: Sealed | None = None
    suppressed_channels: tuple[str, ...] = ()
    kept: tuple[KeptItem, ...] = ()
    error: str | None = None


class DecisionRecord(BaseModel):
    """Who decided what and when (R50); the reasons are in the decision fields kept on the state."""

    model_config = ConfigDict(frozen=True)

    kind: str
    by: str
    at: AwareDatetime


class CaseState(BaseModel):
    """Procedural facts of one case; personal data only as sealed values, dropped at closure (R50)."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    subject_ref: str
    right: Right
    language: Language
    received_at: AwareDatetime
    details: RequestDetails = RequestDetails()
    d1: date  # the legal deadline, moved by any suspension (R8, R12)
    deadline: date  # the deadline that applies now: D1, or D3 once extended (R10)
    systems: tuple[str, ...]
    marketing_systems: tuple[str, ...] = ()  # where marketing stops on an objection or withdrawal (R30)
    status: Status = Status.DISCOVERING
    subject: Sealed | None = None
    payload: Sealed | None = None
    reply_to: Sealed | None = None
    requester: Sealed | None = None  # L2: the address the request came from (Art. 11(2), 12(2))
    tasks: dict[str, TaskRecord] = {}
    verification_token_id: str | None = None
    challenge_sent_at: AwareDatetime | None = None
    id_requested_at: AwareDatetime | None = None
    id_request_reason: str | None = None
    verified_at: AwareDatetime | None = None
    identity_checked: str | None = None  # "ID checked on <date> by <role>", nothing else (R16)
    document_received_at: AwareDatetime | None = None  # an uploaded ID or proof of death arrived (R12: ends suspension)
    suspended_days: int = 0
    extension: Extend | None = None
    refusal: Refuse | None = None
    partial_refusals: tuple[Refuse, ...] = ()
    fee: FlagExcessive | None = None
    fee_paid: bool = False
    withdrawn: bool = False
    holds: tuple[LegalHold, ...] = ()
    released_holds: frozenset[str] = frozenset()
    objection_upheld: bool | None = None
    objection_explanation: str = ""
    lift: LiftRestriction | None = None
    directives_erase: bool | None = None
    estate: DecideEstateAccess | None = None  # LIL 85-II: what the DPO decided an heir obtains
    directive_revoked_at: AwareDatetime | None = None
    decisions: tuple[DecisionRecord, ...] = ()
    emails_sent: frozenset[MessageType] = frozenset()
    emails_parked: frozenset[MessageType] = frozenset()
    # E-mails asked of the mailer and not yet reported sent or parked (message id -> when): the key outlives them.
    mail_out: dict[str, AwareDatetime] = {}
    mail_asked: dict[str, MailAsked] = {}  # the same message ids (absent in records written before it existed)
    done: frozenset[str] = frozenset()
    key_destroyed: bool = False
    closed_at: AwareDatetime | None = None

    # --- questions the rules ask -------------------------------------------------------------

    def tasks_for(self, action: TaskAction, key: str = "") -> list[TaskRecord]:
        return [t for t in self.tasks.values() if t.action == action and t.key == key]

    def tasks_for_any(self, action: TaskAction) -> list[TaskRecord]:
        """Every task of this action, whatever its key (a purge after a released hold included)."""
        return [t for t in self.tasks.values() if t.action == action]

    def holders(self) -> list[str]:
        """Systems that hold data; a failed lookup counts as holding, so nothing is skipped silently."""
        return sorted(t.system for t in self.tasks_for(TaskAction.LOOKUP) if t.holds_data is not False)

    @property
    def level(self) -> IdentityLevel:
        return IdentityLevel.L3 if self.id_requested_at else self.details.identity_level

    @property
    def post_mortem(self) -> PostMortemAction | None:
        facts = self.details.post_mortem
        return facts.action if facts else None

    def for_the_deceased(self) -> bool:
        """LIL 85: an heir or executor acts about someone who died; the answers are written to them."""
        return self.post_mortem in HEIR_ACTIONS

    def is_general_objection(self) -> bool:
        return self.right == Right.OBJECTION and self.details.objection_scope == ObjectionScope.LEGITIMATE_INTEREST

    def active_holds(self) -> list[LegalHold]:
        return [h for h in self.holds if h.hold_id not in self.released_holds]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CaseState:
        return cls.model_validate_json(raw)


FORGOTTEN = {"subject": None, "payload": None, "reply_to": None, "requester": None}  # R50: no sealed value left


def moved(state: CaseState, to: Status, **changes) -> CaseState:
    """The one way a status changes: through the TRANSITIONS table."""
    if to not in TRANSITIONS[state.status]:
        raise IllegalTransition(f"{state.status.value} -> {to.value}")
    return state.model_copy(update={"status": to, **changes})
