"""The request lifecycle: `evolve(state, event)` and `decide(state, now)`, pure, on frozen case state."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from gdpr.deadlines import compute_deadline
from gdpr.routing import action_for
from schemas.cases import CaseOpened, ClockTicked, EmailParked, EmailSent, IdentityConfirmed, TaskAnswered
from schemas.intake import Language, Right
from schemas.sealed import Sealed
from schemas.tasks import KeptItem, TaskAction, TaskStatus

ID_NAMESPACE = uuid.UUID("6f1c9a52-3e0b-4c55-9a8e-2d4f0c1b7e90")
OUTCOMES = {"outcome_access", "outcome_erasure", "outcome_no_data"}


def stable_id(*parts: str) -> str:
    """Deterministic id: the same inputs give the same id on every replay (DESIGN principle 2)."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


class Status(StrEnum):
    DISCOVERING = "discovering"  # asking every system whether it holds data
    AWAITING_VERIFICATION = "awaiting_verification"  # link sent to the address on file
    PROCESSING = "processing"  # tasks out to the systems holding data
    ANSWERING = "answering"  # every system answered; outcome e-mail due
    CLOSED = "closed"


TRANSITIONS: dict[Status, set[Status]] = {
    Status.DISCOVERING: {Status.AWAITING_VERIFICATION},
    Status.AWAITING_VERIFICATION: {Status.PROCESSING, Status.ANSWERING},
    Status.PROCESSING: {Status.ANSWERING},
    Status.ANSWERING: {Status.CLOSED},
    Status.CLOSED: set(),
}


class IllegalTransition(ValueError):
    pass


class TaskRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_id: str
    system: str
    action: TaskAction
    issued_at: AwareDatetime
    status: TaskStatus | None = None
    holds_data: bool | None = None
    erased_items: int = 0
    exported_items: int = 0
    kept: tuple[KeptItem, ...] = ()
    error: str | None = None


class CaseState(BaseModel):
    """Procedural facts of one case; personal data only as a sealed value, dropped at closure (R50)."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    subject_ref: str
    right: Right
    language: Language
    received_at: AwareDatetime
    deadline: date
    systems: tuple[str, ...]
    status: Status = Status.DISCOVERING
    subject: Sealed | None = None
    tasks: dict[str, TaskRecord] = {}
    verification_token_id: str | None = None
    verified_at: AwareDatetime | None = None
    emails_sent: frozenset[str] = frozenset()
    emails_parked: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    key_destroyed: bool = False
    closed_at: AwareDatetime | None = None

    def tasks_for(self, action: TaskAction) -> list[TaskRecord]:
        return [t for t in self.tasks.values() if t.action == action]

    def holders(self) -> list[str]:
        """Systems that hold data; a failed lookup counts as holding, so nothing is skipped silently."""
        return sorted(t.system for t in self.tasks_for(TaskAction.LOOKUP) if t.holds_data is not False)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "CaseState":
        return cls.model_validate_json(raw)


# --- commands: what the coordinator must do next --------------------------------------------


@dataclass(frozen=True)
class IssueTask:
    command_id: str
    system: str
    action: TaskAction


@dataclass(frozen=True)
class SendEmail:
    command_id: str
    message_type: str
    recipient: str  # "subject" or "dpo"
    params: dict = field(default_factory=dict, hash=False, compare=False)  # non-personal template values


@dataclass(frozen=True)
class RaiseAlert:
    command_id: str
    kind: str
    detail: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class DestroySubjectKey:
    command_id: str


Command = IssueTask | SendEmail | RaiseAlert | DestroySubjectKey


@dataclass(frozen=True)
class CasePolicy:
    """Tunable timings; the legal ones live in gdpr.deadlines."""

    task_timeout: timedelta = timedelta(hours=4)
    reminder_days: tuple[int, ...] = (10, 5, 2)  # R9: alerts at D1-10, D1-5, D1-2 days


# --- evolve: fold one event into the state ----------------------------------------------------


def open_case(event: CaseOpened) -> CaseState:
    deadline = compute_deadline(event.received_at)  # Art. 12(3), R8
    return CaseState(
        request_id=event.request_id,
        subject_ref=event.subject_ref,
        right=event.right,
        language=event.language,
        received_at=event.received_at,
        deadline=deadline.d1,
        systems=tuple(event.systems),
        subject=event.subject,
    )


def moved(state: CaseState, to: Status, **changes) -> CaseState:
    if to not in TRANSITIONS[state.status]:
        raise IllegalTransition(f"{state.status.value} -> {to.value}")
    return state.model_copy(update={"status": to, **changes})


def evolve(state: CaseState | None, event) -> CaseState | None:
    """The one place case state changes in answer to an event; replays leave it unchanged."""
    if isinstance(event, CaseOpened):
        return state if state is not None else open_case(event)
    if state is None:
        return None
    if isinstance(event, TaskAnswered):
        return _advance(_record_result(state, event))
    if isinstance(event, IdentityConfirmed):
        return _confirm(state, event)
    if isinstance(event, EmailSent):
        return _email_sent(state, event)
    if isinstance(event, EmailParked):
        return state.model_copy(update={"emails_parked": state.emails_parked | {event.message_type}})
    if isinstance(event, ClockTicked):
        return state
    raise TypeError(f"unknown case event {type(event).__name__}")


def _record_result(state: CaseState, event: TaskAnswered) -> CaseState:
    result = event.result
    record = state.tasks.get(result.task_id)
    if record is None or record.status == TaskStatus.DONE:  # set semantics: first success wins
        return state
    updated = record.model_copy(
        update={
            "status": result.status,
            "holds_data": result.holds_data if result.status == TaskStatus.DONE else None,
            "erased_items": result.erased_items,
            "exported_items": result.exported_items,
            "kept": tuple(result.kept),
            "error": result.error,
        }
    )
    return state.model_copy(update={"tasks": {**state.tasks, result.task_id: updated}})


def _all_answered(records: list[TaskRecord], expected: int) -> bool:
    return len(records) == expected and all(r.status is not None for r in records)


def _advance(state: CaseState) -> CaseState:
    if state.status == Status.DISCOVERING:
        lookups = state.tasks_for(TaskAction.LOOKUP)
        if _all_answered(lookups, len(state.systems)):
            return moved(state, Status.AWAITING_VERIFICATION)
    if state.status == Status.PROCESSING:
        actions = state.tasks_for(action_for(state.right))
        if len(actions) == len(state.holders()) and all(r.status == TaskStatus.DONE for r in actions):
            return moved(state, Status.ANSWERING)
    return state


def _confirm(state: CaseState, event: IdentityConfirmed) -> CaseState:
    if state.status != Status.AWAITING_VERIFICATION or event.token_id != state.verification_token_id:
        return state  # single use: a second click, or a stale link, changes nothing
    target = Status.PROCESSING if state.holders() else Status.ANSWERING
    return moved(state, target, verified_at=event.confirmed_at)


def _email_sent(state: CaseState, event: EmailSent) -> CaseState:
    state = state.model_copy(update={"emails_sent": state.emails_sent | {event.message_type}})
    if event.message_type in OUTCOMES and state.status == Status.ANSWERING:
        return moved(state, Status.CLOSED, closed_at=event.sent_at, subject=None)  # R50: facts only
    return state


def record_done(state: CaseState, command: Command, at: datetime) -> CaseState:
    """Note that a command was carried out, so `decide` does not ask for it again."""
    state = state.model_copy(update={"done": state.done | {command.command_id}})
    if isinstance(command, IssueTask):
        task = TaskRecord(task_id=task_id(state, command.system, command.action), system=command.system,
                          action=command.action, issued_at=at)
        return state.model_copy(update={"tasks": {**state.tasks, task.task_id: task}})
    if isinstance(command, SendEmail) and command.message_type == "verification":
        return state.model_copy(update={"verification_token_id": command.params["token_id"]})
    if isinstance(command, DestroySubjectKey):
        return state.model_copy(update={"key_destroyed": True, "subject": None})
    return state


def task_id(state: CaseState, system: str, action: TaskAction) -> str:
    return stable_id(state.request_id, system, action.value)


def message_id(request_id: str, message_type: str, *suffix: str) -> str:
    return stable_id(request_id, "email", message_type, *suffix)


# --- decide: what is due now -----------------------------------------------------------------


def decide(state: CaseState | None, now: datetime, policy: CasePolicy = CasePolicy()) -> list[Command]:
    """Every command due in this state at `now` and not yet carried out."""
    if state is None:
        return []
    due = _by_status(state) + _alerts(state, now, policy)
    return [c for c in due if c.command_id not in state.done]


def _by_status(state: CaseState) -> list[Command]:
    if state.status == Status.CLOSED:
        return _after_closure(state)
    due: list[Command] = [SendEmail("email:receipt", "receipt", "subject")]  # R5
    if state.status == Status.DISCOVERING:
        due += [IssueTask(f"task:{s}:lookup", s, TaskAction.LOOKUP) for s in state.systems]
    elif state.status == Status.AWAITING_VERIFICATION:
        token = stable_id(state.request_id, "verification")
        due.append(SendEmail("email:verification", "verification", "subject", {"token_id": token}))
    elif state.status == Status.PROCESSING:
        action = action_for(state.right)
        due += [IssueTask(f"task:{s}:{action.value}", s, action) for s in state.holders()]
    elif state.status == Status.ANSWERING:
        due.append(_outcome(state))
    return due


def _outcome(state: CaseState) -> SendEmail:
    if not state.holders():
        return SendEmail("email:outcome", "outcome_no_data", "subject")
    return SendEmail("email:outcome", f"outcome_{state.right.value}", "subject")


def _after_closure(state: CaseState) -> list[Command]:
    # Crypto-shredding once the person has been told (DESIGN principle 5): after an erasure,
    # or when no system knows them, nothing of theirs may stay decryptable.
    if state.key_destroyed or (state.right != Right.ERASURE and state.holders()):
        return []
    return [DestroySubjectKey("key:destroy")]


def _alerts(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    if state.status == Status.CLOSED:
        return []
    return _overdue_tasks(state, now, policy) + _failed_tasks(state) + _reminders(state, now, policy)


def _overdue_tasks(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    late = [t for t in state.tasks.values() if t.status is None and now - t.issued_at >= policy.task_timeout]
    commands: list[Command] = []
    for task in late:
        detail = {"task_id": task.task_id, "system": task.system, "action": task.action.value,
                  "issued_at": task.issued_at.isoformat()}
        commands.append(RaiseAlert(f"alert:overdue:{task.task_id}", "task_overdue", detail))
        commands.append(SendEmail(f"email:dpo_task_overdue:{task.task_id}", "dpo_task_overdue", "dpo", detail))
    return commands


def _failed_tasks(state: CaseState) -> list[Command]:
    commands: list[Command] = []
    for task in (t for t in state.tasks.values() if t.status == TaskStatus.FAILED):
        detail = {"task_id": task.task_id, "system": task.system, "action": task.action.value,
                  "error": task.error or ""}
        commands.append(RaiseAlert(f"alert:failed:{task.task_id}", "task_failed", detail))
        commands.append(SendEmail(f"email:dpo_task_failed:{task.task_id}", "dpo_task_failed", "dpo", detail))
    return commands


def _reminders(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    today = now.date()
    return [
        SendEmail(f"email:dpo_deadline_reminder:{days}", "dpo_deadline_reminder", "dpo", {"days": days})
        for days in sorted(policy.reminder_days, reverse=True)
        if today >= state.deadline - timedelta(days=days)
    ][-1:]  # only the most urgent one due; earlier ones already sent or moot
