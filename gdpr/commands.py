"""What the coordinator must do next: the commands `decide` returns, and the policy that tunes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from schemas.notifications import MessageType, Recipient
from schemas.tasks import TaskAction


@dataclass(frozen=True)
class IssueTask:
    command_id: str
    system: str
    action: TaskAction
    key: str = ""  # a second task of the same action on the same system (after a hold is released)
    params: dict = field(default_factory=dict, hash=False, compare=False)  # non-personal task fields


@dataclass(frozen=True)
class SendEmail:
    command_id: str
    message_type: MessageType
    recipient: Recipient
    params: dict = field(default_factory=dict, hash=False, compare=False)  # non-personal template values

    def __post_init__(self) -> None:
        """A message type or recipient that is not one of ours fails here, not as a parked e-mail."""
        object.__setattr__(self, "message_type", MessageType(self.message_type))
        object.__setattr__(self, "recipient", Recipient(self.recipient))


@dataclass(frozen=True)
class RaiseAlert:
    command_id: str
    kind: str
    detail: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ResendTask:
    """At-least-once, end to end: a task still unanswered after a while goes out again, same id, same content
    (a system that already answered answers from its record; faust may commit past a message it skipped)."""

    command_id: str
    task_id: str


@dataclass(frozen=True)
class ResendEmail:
    """At-least-once, as for tasks: an e-mail of an open case not reported sent or parked after a while is asked
    of the mailer again, the very same (same message id: the mailer's record of sent e-mails drops a copy, and
    tells the case again)."""

    command_id: str
    email: SendEmail


@dataclass(frozen=True)
class FollowUpEmail:
    """At-least-once, end to end, for a closed case, which can no longer address an e-mail to ask for it again:
    one it never heard was sent or parked is asked about after a while (the request, or the mailer's answer, may
    have been lost on the way: a broker lost, a rebalance); the mailer answers from its records."""

    command_id: str
    message_id: str
    message_type: MessageType
    recipient: Recipient


def follow_up_id(message_id: str, n: int) -> str:
    """The command id of the n-th time a case asks again for an e-mail, or about it."""
    return f"email:follow-up:{message_id}:{n}"


@dataclass(frozen=True)
class DestroySubjectKey:
    command_id: str


@dataclass(frozen=True)
class PurgeCaseRecord:
    """R51: the case record itself goes, a configurable time after closure."""

    command_id: str


@dataclass(frozen=True)
class DeleteDocument:
    """R16: an uploaded ID document or proof of death goes once checked, or when the case closes."""

    command_id: str


Command = (
    IssueTask
    | ResendTask
    | SendEmail
    | ResendEmail
    | FollowUpEmail
    | RaiseAlert
    | DestroySubjectKey
    | PurgeCaseRecord
    | DeleteDocument
)

EMPTY: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class CasePolicy:
    """Tunable timings and the register facts the rules need; the legal dates live in gdpr.deadlines."""

    task_timeout: timedelta = timedelta(hours=4)
    task_resend: timedelta | None = timedelta(minutes=30)  # None: never sent again
    task_resends: int = 2  # how many times, before the timeout alerts the DPO
    mail_wait: timedelta = timedelta(hours=49)  # an e-mail is sent or parked within the mail retry budget (48 h)
    reminder_days: tuple[int, ...] = (10, 5, 2)  # R9: alerts at D1-10, D1-5, D1-2 days
    verification_reminder: timedelta = timedelta(days=14)  # LEGAL §3.4 DESIGN
    verification_expiry: timedelta = timedelta(days=30)  # LEGAL §3.4 DESIGN
    case_retention: timedelta = timedelta(days=5 * 365 + 1)  # R51 DESIGN: 5 years after closure
    # From the register (R35): which recipients received data from each system.
    recipients_by_system: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: EMPTY, hash=False)
