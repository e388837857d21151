"""The request lifecycle: `evolve(state, event)` folds events in, `decide(state, now)` says what is due. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime

from gdpr import decisions, work
from gdpr.case_state import (  # noqa: F401 - re-exported: the lifecycle's vocabulary
    FORGOTTEN,
    OPEN,
    TRANSITIONS,
    CaseState,
    DecisionRecord,
    IllegalTransition,
    MailAsked,
    Status,
    TaskRecord,
    moved,
)
from gdpr.commands import (  # noqa: F401 - re-exported
    CasePolicy,
    Command,
    DeleteDocument,
    DestroySubjectKey,
    IssueTask,
    PurgeCaseRecord,
    RaiseAlert,
    SendEmail,
)
from gdpr.deadlines import compute_deadline
from gdpr.identity import confirmed, needs_verification, start_work
from gdpr.outcomes import closing_status, due_by_status
from gdpr.reminders import after_closure, alerts
from schemas.cases import (
    CaseOpened,
    ClockTicked,
    DirectiveRevoked,
    DocumentReceived,
    DpoDecided,
    EmailParked,
    EmailSent,
    IdentityConfirmed,
    TaskAnswered,
    WithdrawnByPerson,
)
from schemas.decisions import Withdraw
from schemas.notifications import MessageType
from schemas.tasks import TaskAction, TaskStatus

ID_NAMESPACE = uuid.UUID("6f1c9a52-3e0b-4c55-9a8e-2d4f0c1b7e90")
VERIFICATION_MESSAGES = frozenset({MessageType.VERIFICATION, MessageType.VERIFICATION_CHALLENGE})
PERSON = "data_subject"  # `by` of what the person did themselves (a withdrawal from the status page)
WAITING_FOR_DOCUMENTS = frozenset({Status.AWAITING_VERIFICATION, Status.AWAITING_PROOF})


def stable_id(*parts: str) -> str:
    """Deterministic id: the same inputs give the same id on every replay (DESIGN principle 2)."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


def task_id(state: CaseState, system: str, action: TaskAction, key: str = "") -> str:
    return stable_id(state.request_id, system, action.value, *([key] if key else []))


# --- evolve: fold one event into the state ----------------------------------------------------


def open_case(event: CaseOpened) -> CaseState:
    deadline = compute_deadline(event.received_at)  # Art. 12(3), R8
    return CaseState(
        request_id=event.request_id,
        subject_ref=event.subject_ref,
        right=event.right,
        language=event.language,
        received_at=event.received_at,
        details=event.details,
        d1=deadline.d1,
        deadline=deadline.d1,
        systems=tuple(event.systems),
        marketing_systems=tuple(event.marketing_systems),
        subject=event.subject,
        payload=event.payload,
        reply_to=event.reply_to,
        requester=event.requester,
    )


def evolve(state: CaseState | None, event) -> CaseState | None:
    """The one place case state changes in answer to an event; replays leave it unchanged."""
    if isinstance(event, CaseOpened):
        return state if state is not None else open_case(event)
    if state is None:
        return None
    return HANDLERS[type(event)](state, event)


def _answered(state: CaseState, event: TaskAnswered) -> CaseState:
    state = _advance(_record_result(state, event))
    if state.status == Status.CLOSED and state.subject is not None and _identity_needed_no_more(state):
        return state.model_copy(update={"subject": None})  # R50: the last task out was answered
    return state


def _identity_needed_no_more(state: CaseState) -> bool:
    return not state.active_holds() and all(t.status is not None for t in state.tasks.values())


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
            "portable_items": event.portable_items,
            "restricted_items": result.restricted_items,
            "fields_changed": tuple(result.fields_changed),
            "changes": result.changes,
            "suppressed_channels": tuple(result.suppressed_channels),
            "kept": tuple(result.kept),
            "error": result.error,
        }
    )
    return state.model_copy(update={"tasks": {**state.tasks, result.task_id: updated}})


def _advance(state: CaseState) -> CaseState:
    if state.status == Status.DISCOVERING and _lookups_answered(state):
        return moved(state, Status.AWAITING_VERIFICATION) if needs_verification(state) else start_work(state)
    if state.status == Status.PROCESSING and work.main_work_over(state):
        return moved(state, Status.ANSWERING)
    if state.status == Status.RESTRICTED and state.lift and work.all_done(state, work.lift_tasks(state)):
        return closed(state, max(t.issued_at for t in state.tasks.values()))
    return state


def closed(state: CaseState, at: datetime) -> CaseState:
    """R50: once closed, only procedural facts stay; the subject stays sealed while a hold may need it, or while a
    task is out unanswered (an Art. 19 notice lost on its way is sent again, R35, and needs the sealed identity).
    It goes when the last of them is answered, or with the key."""
    tasks = {tid: t.model_copy(update={"changes": None}) for tid, t in state.tasks.items()}
    subject = None if _identity_needed_no_more(state) else state.subject
    return moved(state, Status.CLOSED, closed_at=at, tasks=tasks, **{**FORGOTTEN, "subject": subject})


def _lookups_answered(state: CaseState) -> bool:
    lookups = state.tasks_for(TaskAction.LOOKUP)
    return len(lookups) == len(state.systems) and all(r.status is not None for r in lookups)


def _confirm(state: CaseState, event: IdentityConfirmed) -> CaseState:
    if state.status != Status.AWAITING_VERIFICATION or event.token_id != state.verification_token_id:
        return state  # single use: a second click, or a stale link, changes nothing
    return confirmed(state, event.confirmed_at)


def _decided(state: CaseState, event: DpoDecided) -> CaseState:
    try:
        decisions.check(state, event.decision)
    except decisions.DecisionRefused:
        return state  # the coordinator audits the refusal; the state does not move
    return decisions.apply(state, event.decision)


def email_id(state: CaseState, command_id: str) -> str:
    """The message id of the e-mail a SendEmail command asks for: the same on every replay and resend."""
    return stable_id(state.request_id, command_id)


def _mail_back(state: CaseState, message_id: str) -> dict:
    return {
        "mail_out": {m: at for m, at in state.mail_out.items() if m != message_id},
        "mail_asked": {m: asked for m, asked in state.mail_asked.items() if m != message_id},
    }


def _email_sent(state: CaseState, event: EmailSent) -> CaseState:
    update = {"emails_sent": state.emails_sent | {event.message_type}} | _mail_back(state, event.message_id)
    state = state.model_copy(update=update)
    target = closing_status(state, event.message_type)
    if target is None:
        return state
    if target == Status.CLOSED:
        return closed(state, event.sent_at)
    return moved(state, target, payload=None)


def _parked(state: CaseState, event: EmailParked) -> CaseState:
    update = {"emails_parked": state.emails_parked | {event.message_type}} | _mail_back(state, event.message_id)
    return state.model_copy(update=update)


def _withdrawn(state: CaseState, event: WithdrawnByPerson) -> CaseState:
    if not decisions.person_may_withdraw(state):
        return state  # answered meanwhile: the withdrawal comes too late, nothing changes
    return decisions.apply(state, Withdraw(by=PERSON, at=event.withdrawn_at))


def _document(state: CaseState, event: DocumentReceived) -> CaseState:
    if state.document_received_at is not None or state.status not in WAITING_FOR_DOCUMENTS:
        return state  # the first arrival ends the suspension (R12); a later one changes no date
    return state.model_copy(update={"document_received_at": event.received_at})


def _revoked(state: CaseState, event: DirectiveRevoked) -> CaseState:
    return state if state.directive_revoked_at else state.model_copy(update={"directive_revoked_at": event.revoked_at})


HANDLERS = {
    TaskAnswered: _answered,
    IdentityConfirmed: _confirm,
    DpoDecided: _decided,
    EmailSent: _email_sent,
    EmailParked: _parked,
    DirectiveRevoked: _revoked,
    WithdrawnByPerson: _withdrawn,
    DocumentReceived: _document,
    ClockTicked: lambda state, event: state,
}


def _mail_asked(state: CaseState, command: SendEmail, at: datetime) -> CaseState:
    message_id = email_id(state, command.command_id)
    asked = MailAsked(
        command_id=command.command_id,
        message_type=command.message_type,
        recipient=command.recipient,
        params=command.params,
    )
    update = {"mail_out": {message_id: at, **state.mail_out}, "mail_asked": {message_id: asked, **state.mail_asked}}
    return state.model_copy(update=update)


def record_done(state: CaseState, command: Command, at: datetime) -> CaseState:
    """Note that a command was carried out, so `decide` does not ask for it again."""
    state = state.model_copy(update={"done": state.done | {command.command_id}})
    if isinstance(command, SendEmail):  # the key must outlive it (principle 5): it may need opening
        state = _mail_asked(state, command, at)
    if isinstance(command, IssueTask):
        tid = task_id(state, command.system, command.action, command.key)
        record = TaskRecord(
            task_id=tid,
            system=command.system,
            action=command.action,
            key=command.key,
            params=command.params,
            issued_at=at,
        )
        return state.model_copy(update={"tasks": {**state.tasks, tid: record}})
    if isinstance(command, SendEmail) and command.message_type in VERIFICATION_MESSAGES:
        return state.model_copy(
            update={
                "verification_token_id": command.params["token_id"],
                "challenge_sent_at": state.challenge_sent_at or at,
            }
        )
    if (
        isinstance(command, SendEmail) and command.message_type == MessageType.DEATH_PROOF_REQUEST
    ):  # R12: proof asked from then
        return state.model_copy(update={"challenge_sent_at": state.challenge_sent_at or at})
    if isinstance(command, DestroySubjectKey):
        return state.model_copy(update={"key_destroyed": True, **FORGOTTEN})
    return state


# --- decide: what is due now -----------------------------------------------------------------

DEFAULT_POLICY = CasePolicy()


def decide(state: CaseState | None, now: datetime, policy: CasePolicy = DEFAULT_POLICY) -> list[Command]:
    """Every command due in this state at `now` and not yet carried out."""
    if state is None:
        return []
    if state.status == Status.CLOSED:
        due = after_closure(state, now, policy)
    else:
        due = due_by_status(state, now, policy, stable_id) + alerts(state, now, policy)
    return [c for c in due if c.command_id not in state.done]
