"""Alerts for the DPO while a case is open, and what is still due once it is closed (R9, R46, R51)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gdpr import work
from gdpr.case_state import CaseState, MailAsked, Status, TaskRecord
from gdpr.commands import (
    CasePolicy,
    Command,
    DestroySubjectKey,
    FollowUpEmail,
    PurgeCaseRecord,
    RaiseAlert,
    ResendEmail,
    ResendTask,
    SendEmail,
    follow_up_id,
)
from gdpr.deadlines import end_of_day
from gdpr.identity import document_deletion, suspends
from gdpr.minors import erasure_priority
from schemas.notifications import MessageType, Recipient
from schemas.tasks import KeepGround, TaskAction, TaskStatus

PURGE = "case:purge"
EVERY_TICK = datetime.min.replace(tzinfo=UTC)  # `next_look` of a case the clock looks at on every tick
LONG_AFTER = datetime(9000, 1, 1, tzinfo=UTC)  # when every silent task is overdue


def alerts(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    due: list[Command] = _resent_tasks(state, now, policy) if state.subject is not None else []
    due += _overdue_tasks(state, now, policy) + _failed_tasks(state)
    due += followed_up_emails(state, now, policy)
    due += _reminders(state, now, policy)
    due += _refusal_due_by_d1(state, now)
    if erasure_priority(state.right, state.details.minor_at_collection):  # LIL 51-II, R42: erasure first
        due.append(RaiseAlert("alert:minor_priority", "minor_priority", {"deadline": state.deadline.isoformat()}))
    return due


def _silent(state: CaseState) -> list[TaskRecord]:
    return [t for t in state.tasks.values() if t.status is None]


def next_resend(state: CaseState, task: TaskRecord, policy: CasePolicy) -> tuple[str, datetime] | None:
    """The next sending again of a silent task, if any is left before its timeout: (command id, when)."""
    if policy.task_resend is None:
        return None
    for n in range(1, policy.task_resends + 1):
        command_id = f"task:resend:{task.task_id}:{n}"
        if command_id not in state.done:
            at = task.issued_at + n * policy.task_resend
            return (command_id, at) if at - task.issued_at < policy.task_timeout else None
    return None


def _resent_tasks(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    due = [(t, next_resend(state, t, policy)) for t in _silent(state)]
    return [ResendTask(nxt[0], t.task_id) for t, nxt in due if nxt is not None and now >= nxt[1]]


def next_follow_up(state: CaseState, message_id: str, policy: CasePolicy) -> tuple[str, datetime] | None:
    """The next question to the mailer about an e-mail still out, if any is left: (command id, when). As often as
    a silent task is sent again (DSR_TASK_RESEND_MINUTES, `task_resends` times)."""
    asked_at = state.mail_out.get(message_id)
    if policy.task_resend is None or asked_at is None:
        return None
    for n in range(1, policy.task_resends + 1):
        command_id = follow_up_id(message_id, n)
        if command_id not in state.done:
            at = asked_at + n * policy.task_resend
            return (command_id, at) if at - asked_at < policy.mail_wait else None
    return None


def followed_up_emails(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    """Every e-mail out for a while with no news: its request or the mailer's answer may have been lost. An open
    case asks for it again, the very same (the person may still need it, R5); a closed one, which can no longer
    address it, asks what became of it, so that the key does not wait for `mail_wait` (R51)."""
    due = [(m, asked, next_follow_up(state, m, policy)) for m, asked in state.mail_asked.items()]
    return [_follow_up(state, nxt[0], m, asked) for m, asked, nxt in due if nxt is not None and now >= nxt[1]]


def _follow_up(state: CaseState, command_id: str, message_id: str, asked: MailAsked) -> Command:
    if state.status != Status.CLOSED and state.subject is not None:
        email = SendEmail(asked.command_id, asked.message_type, asked.recipient, asked.params)
        return ResendEmail(command_id, email)
    return FollowUpEmail(command_id, message_id, asked.message_type, asked.recipient)


def _overdue_tasks(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    late = [t for t in state.tasks.values() if t.status is None and now - t.issued_at >= policy.task_timeout]
    commands: list[Command] = []
    for task in late:
        detail = {
            "task_id": task.task_id,
            "system": task.system,
            "action": task.action.value,
            "issued_at": task.issued_at.isoformat(),
        }
        commands.append(RaiseAlert(f"alert:overdue:{task.task_id}", "task_overdue", detail))
        commands.append(
            SendEmail(f"email:dpo_task_overdue:{task.task_id}", MessageType.DPO_TASK_OVERDUE, Recipient.DPO, detail)
        )
    return commands


def _failed_tasks(state: CaseState) -> list[Command]:
    commands: list[Command] = []
    for task in (t for t in state.tasks.values() if t.status == TaskStatus.FAILED):
        detail = {
            "task_id": task.task_id,
            "system": task.system,
            "action": task.action.value,
            "error": task.error or "",
        }
        commands.append(RaiseAlert(f"alert:failed:{task.task_id}", "task_failed", detail))
        commands.append(
            SendEmail(f"email:dpo_task_failed:{task.task_id}", MessageType.DPO_TASK_FAILED, Recipient.DPO, detail)
        )
    return commands


def _reminders(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    waiting = state.status in (Status.AWAITING_VERIFICATION, Status.AWAITING_PROOF)
    if state.status == Status.RESTRICTED or (waiting and suspends(state) and not state.document_received_at):
        return []  # answered already, or the clock is suspended (§2.4)
    today = now.date()
    return [
        SendEmail(
            f"email:dpo_deadline_reminder:{days}", MessageType.DPO_DEADLINE_REMINDER, Recipient.DPO, {"days": days}
        )
        for days in sorted(policy.reminder_days, reverse=True)
        if today >= state.deadline - timedelta(days=days)
    ][-1:]  # only the most urgent one due; earlier ones already sent or moot


def _refusal_due_by_d1(state: CaseState, now: datetime) -> list[Command]:
    """Art. 12(4), R11: an extended case that will keep or refuse something must say so by D1, not by D3.
    Known from the erase answers (Art. 17(3) items) or from a legal hold; the DPO notifies it in time."""
    if state.extension is None or state.partial_refusals or state.refusal or now > end_of_day(state.d1):
        return []
    if state.status not in (Status.AWAITING_DECISION, Status.PROCESSING, Status.ANSWERING):
        return []
    if not (state.active_holds() or refused_items(state)):
        return []
    detail = {"d1": state.d1.isoformat(), "deadline": state.deadline.isoformat()}
    return [
        RaiseAlert("alert:refusal_due_by_d1", "refusal_due_by_d1", detail),
        SendEmail(
            "email:dpo_refusal_due_by_d1",
            MessageType.DPO_DECISION_NEEDED,
            Recipient.DPO,
            {"kind": "partial_refusal_due"},
        ),
    ]


def refused_items(state: CaseState) -> list[str]:
    """Items an erasure keeps on an Art. 17(3) ground: a partial refusal (R26). The suppression entry is not one."""
    return [
        k.item for t in state.tasks_for_any(TaskAction.ERASE) for k in t.kept if k.ground != KeepGround.SUPPRESSION_LIST
    ]


def after_closure(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    due: list[Command] = list(work.release_tasks(state)) if state.subject is not None else []
    due += _failed_tasks(state)  # an Art. 19 notice or a purge may fail after the outcome went out
    due += _resent_tasks(state, now, policy) if state.subject is not None else []  # a notice lost on the way
    due += _overdue_tasks(state, now, policy)  # R35: a recipient silent past the timeout; the DPO follows it up
    due += followed_up_emails(state, now, policy)  # an e-mail asked for and never reported: the key waits for it
    due += document_deletion(state)
    if not state.key_destroyed and _nothing_left(state) and not _key_needed(state, now, policy):
        due.append(DestroySubjectKey("key:destroy"))  # crypto-shredding (DESIGN principle 5), once nothing needs it
    if purge_due(state, now, policy):
        due.append(PurgeCaseRecord(PURGE))  # R51
    return due


def _key_needed(state: CaseState, now: datetime, policy: CasePolicy) -> bool:
    """A task out with the sealed identity, or an e-mail on its way, may still have to open it."""
    return bool(work.awaiting_answers(state, now, policy) or work.mail_in_flight(state, now, policy))


def purge_at(state: CaseState, policy: CasePolicy) -> datetime | None:
    """R51: when the case record goes: `case_retention` after closure; never while a legal hold is active (R46)."""
    if state.status != Status.CLOSED or state.closed_at is None or state.active_holds():
        return None
    return state.closed_at + policy.case_retention


def purge_due(state: CaseState, now: datetime, policy: CasePolicy) -> bool:
    at = purge_at(state, policy)
    return at is not None and now >= at


def next_look(state: CaseState, policy: CasePolicy) -> datetime | None:
    """When the clock must next look at a case. An open case's alerts and reminders depend on the time: every
    tick. A closed one has only time-free work left (tasks, key, document) and then its purge (R51): every tick
    while that work is pending, else on its purge date. None: never, until an event changes the case."""
    if state.status != Status.CLOSED:
        return EVERY_TICK
    if any(c.command_id not in state.done for c in after_closure(state, EVERY_TICK, policy)):
        return EVERY_TICK
    soon = [nxt[1] for t in _silent(state) if (nxt := next_resend(state, t, policy))] if state.subject else []
    soon += [nxt[1] for m in state.mail_asked if (nxt := next_follow_up(state, m, policy))]
    if _waits_for_silence(state, policy):
        # R35: a task still unanswered turns overdue with time; the DPO is told, then the key may go.
        soon += [t.issued_at + policy.task_timeout for t in _silent(state)]
    if not state.key_destroyed and _nothing_left(state):  # an e-mail never reported back holds the key no longer
        soon += [at + policy.mail_wait for at in state.mail_out.values()]  # than the mail budget
    if soon:
        return min(soon)
    at = purge_at(state, policy)
    return None if at is None or PURGE in state.done else at


def _waits_for_silence(state: CaseState, policy: CasePolicy) -> bool:
    """Work a closed case will have once its silent tasks are overdue, besides its purge."""
    if not any(t.status is None for t in state.tasks.values()):
        return False
    later = after_closure(state, LONG_AFTER, policy)
    return any(c.command_id not in state.done and c.command_id != PURGE for c in later)


def _nothing_left(state: CaseState) -> bool:
    """Once the person was told: after an erasure, or when no system knows them, nothing stays decryptable."""
    if state.withdrawn or state.active_holds():
        return False
    if not state.holders():
        return True
    erased = {t.system for t in state.tasks.values() if t.action == TaskAction.ERASE}
    return erased >= set(state.holders()) and work.all_done(state, work.release_tasks(state))
