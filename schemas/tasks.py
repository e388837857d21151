"""Tasks on `dsr.tasks.<system>` and their results on `dsr.task-results`: the back-office contract."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.sealed import Sealed


class TaskAction(StrEnum):
    """What a system is asked to do. Each action has its own fields on Task and TaskResult (README)."""

    LOOKUP = "lookup"  # does the system know the subject, on which channels
    EXPORT = "export"  # a copy of every record, each tagged provided/observed/inferred (access, portability)
    ERASE = "erase"  # delete, except items under an Art. 17(3) ground or a legal hold (R26, R46)
    RECTIFY = "rectify"  # correct or complete the fields in `payload` (R25)
    RESTRICT = "restrict"  # mark the data: storage only (R27)
    LIFT_RESTRICTION = "lift_restriction"  # after the person was told (Art. 18(3))
    SUPPRESS_MARKETING = "suppress_marketing"  # stop marketing on `channels` (R30, R31)
    NOTIFY_RECIPIENT = "notify_recipient"  # Art. 19: tell a recipient what changed (R35)
    RECORD_SUBMISSION = "record_submission"
    # Optional: a contact the person initiated (their yes to our one re-contact before a prospect's end), which
    # restarts the retention clocks that count from such contacts (CNIL-COM, LEGAL §5 row 5); `reason`: its kind.
    RECORD_CONTACT = "record_contact"


class ChangeKind(StrEnum):
    """What an Art. 19 notice tells a recipient (R35)."""

    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"


class TaskStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"


class KeepGround(StrEnum):
    """Why an item survives an erasure: an Art. 17(3) ground (R26), or the suppression list (R45)."""

    FREEDOM_OF_EXPRESSION = "freedom_of_expression"  # 17(3)(a)
    LEGAL_OBLIGATION = "legal_obligation"  # 17(3)(b), e.g. invoices, Code de commerce L123-22
    PUBLIC_HEALTH = "public_health"  # 17(3)(c)
    ARCHIVING_RESEARCH = "archiving_research"  # 17(3)(d)
    LEGAL_CLAIMS = "legal_claims"  # 17(3)(e)
    SUPPRESSION_LIST = "suppression_list"  # Art. 21(3), R45: a keyed hash so the person is never re-contacted


class LegalHold(WireModel):
    """Data a DPO put under hold (R46): scoped, with a ground, an owner and a review date."""

    hold_id: str = Field(description="Stable id of the hold within its case.")
    categories: list[str] = Field(
        min_length=1, description="Export categories held; ['*'] for all.", examples=[["quote_requests", "call_notes"]]
    )
    ground: KeepGround = Field(description="An Art. 17(3) ground, usually legal_claims (17(3)(e)).")
    owner: str = Field(max_length=100, description="Role answerable for the hold.", examples=["legal"])
    review_on: date = Field(description="When the hold must be reviewed.")


class RecipientNotice(WireModel):
    """Art. 19 notice: which change, made by which system, on which categories (no personal values)."""

    change: ChangeKind
    recipient: str = Field(description="Recipient id in the register.", examples=["franchise-lyon"])
    systems: list[str] = Field(description="Systems where the change was made.")
    fields: list[str] = Field(default_factory=list, description="rectification: names of the fields changed.")


class Task(WireModel):
    """One thing one system must do for one request. Personal fields are sealed under the subject's key."""

    task_id: str = Field(description="Deterministic: uuid5 of request, system and action; the idempotency key.")
    subject_request_id: str = Field(description="The case (or form submission) this task serves.")
    system: str = Field(examples=["crm"])
    action: TaskAction
    subject_ref: str = Field(description="Keyed hash of the subject's identity; not reversible.")
    subject: Sealed = Field(description="Sealed {email, name}: who the task is about.")
    payload: Sealed | None = Field(
        default=None,
        description="Sealed action data: the form (record_submission); {'changes': {field: new value}} (rectify).",
    )
    submission_type: str | None = Field(default=None, description="For record_submission: the CloudEvents type.")
    channels: list[str] = Field(default_factory=list, description="suppress_marketing: email, sms, phone, post.")
    holds: list[LegalHold] = Field(default_factory=list, description="erase: what must not be erased (R46).")
    categories: list[str] = Field(
        default_factory=list,
        description="erase: only these export categories (the retention sweep's, R44); empty: the whole person. "
        "Sent only to a system that erases by category (capabilities.erase_categories).",
        examples=[["consents"]],
    )
    reason: str | None = Field(
        default=None,
        description="restrict: the Art. 18(1) case, e.g. accuracy_contested; suppress_marketing: objection or "
        "withdrawal; record_contact: the kind of contact, e.g. keep_informed.",
    )
    notice: RecipientNotice | None = Field(default=None, description="notify_recipient: the Art. 19 notice.")
    issued_at: AwareDatetime


class KeptItem(WireModel):
    """Data a system did not erase, with its ground, per item (R26)."""

    item: str = Field(description="What was kept, as a short code.", examples=["invoices"])
    count: int | None = Field(default=None, ge=0, description="How many such items.")
    ground: KeepGround = Field(examples=["legal_obligation"])
    until: str | None = Field(default=None, description="ISO date the item will be deleted.")


class TaskResult(WireModel):
    """What a system did. Counts and categories only; exported data travel sealed."""

    task_id: str
    subject_request_id: str
    system: str
    action: TaskAction
    status: TaskStatus
    holds_data: bool | None = Field(default=None, description="lookup: whether the system knows the subject.")
    channels: list[str] = Field(default_factory=list, description="lookup: contact channels on file.")
    erased_items: int = Field(default=0, description="erase, suppress_marketing: records erased.")
    kept: list[KeptItem] = Field(default_factory=list)
    exported_items: int = 0
    export: Sealed | None = Field(default=None, description="export: the sealed JSON copy of the subject's data.")
    fields_changed: list[str] = Field(default_factory=list, description="rectify: names of the fields changed.")
    changes: Sealed | None = Field(default=None, description="rectify: sealed {field: {old, new}}.")
    restricted_items: int = Field(default=0, description="restrict / lift_restriction: records marked or unmarked.")
    suppressed_channels: list[str] = Field(
        default_factory=list,
        description="suppress_marketing: channels stopped, and `profiling` if marketing profiling stopped too.",
    )
    error: str | None = Field(default=None, description="failed: why, without personal data.")
    completed_at: AwareDatetime
