"""Tasks on `dsr.tasks.<system>` and their results on `dsr.task-results`: the back-office contract."""
from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.sealed import Sealed


class TaskAction(StrEnum):
    LOOKUP = "lookup"
    EXPORT = "export"
    ERASE = "erase"
    RECORD_SUBMISSION = "record_submission"


class TaskStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"


class Task(WireModel):
    """One thing one system must do for one request. Personal fields are sealed under the subject's key."""

    task_id: str = Field(description="Deterministic: uuid5 of request, system and action; the idempotency key.")
    subject_request_id: str = Field(description="The case (or form submission) this task serves.")
    system: str = Field(examples=["crm"])
    action: TaskAction
    subject_ref: str = Field(description="Keyed hash of the subject's identity; not reversible.")
    subject: Sealed = Field(description="Sealed {email, name}: who the task is about.")
    payload: Sealed | None = Field(default=None, description="Sealed action data (the form, for record_submission).")
    submission_type: str | None = Field(default=None, description="For record_submission: the CloudEvents type.")
    issued_at: AwareDatetime


class KeepGround(StrEnum):
    """Why an item survives an erasure: an Art. 17(3) ground (R26), or the suppression list (R45)."""

    FREEDOM_OF_EXPRESSION = "freedom_of_expression"  # 17(3)(a)
    LEGAL_OBLIGATION = "legal_obligation"  # 17(3)(b), e.g. invoices, Code de commerce L123-22
    PUBLIC_HEALTH = "public_health"  # 17(3)(c)
    ARCHIVING_RESEARCH = "archiving_research"  # 17(3)(d)
    LEGAL_CLAIMS = "legal_claims"  # 17(3)(e)
    SUPPRESSION_LIST = "suppression_list"  # Art. 21(3), R45: a keyed hash so the person is never re-contacted


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
    erased_items: int = 0
    kept: list[KeptItem] = Field(default_factory=list)
    exported_items: int = 0
    export: Sealed | None = Field(default=None, description="export: the sealed JSON copy of the subject's data.")
    error: str | None = Field(default=None, description="failed: why, without personal data.")
    completed_at: AwareDatetime
