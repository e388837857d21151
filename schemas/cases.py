"""Case events on `dsr.cases`, keyed by request id: the inputs of the coordinator, in the order they happened."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, Field, TypeAdapter

from schemas.base import WireModel
from schemas.intake import Language, Right
from schemas.sealed import Sealed
from schemas.tasks import TaskResult


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
    subject: Sealed = Field(description="Sealed {email, name} of the requester.")


class TaskAnswered(WireModel):
    """A system answered a task (forwarded from `dsr.task-results`, export payload removed)."""

    kind: Literal["task_answered"] = "task_answered"
    request_id: str
    result: TaskResult


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
    message_type: str
    message_id: str
    sent_at: AwareDatetime


class EmailParked(WireModel):
    """An e-mail could not be delivered within the retry budget; it waits for the DPO."""

    kind: Literal["email_parked"] = "email_parked"
    request_id: str
    message_type: str
    message_id: str
    parked_at: AwareDatetime
    reason: str


class ClockTicked(WireModel):
    """Time passed: deadlines, reminders and overdue tasks may now be due."""

    kind: Literal["clock_ticked"] = "clock_ticked"
    request_id: str
    now: AwareDatetime


CaseEvent = Annotated[
    Union[CaseOpened, TaskAnswered, IdentityConfirmed, EmailSent, EmailParked, ClockTicked],
    Field(discriminator="kind"),
]
CaseEventAdapter: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)


def parse_case_event(raw: bytes) -> CaseEvent:
    return CaseEventAdapter.validate_json(raw)
