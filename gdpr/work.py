"""The tasks each right asks of the systems, and the Art. 19 notices that follow (LEGAL §4, R35)."""

from __future__ import annotations

from datetime import date, datetime

from gdpr.case_state import CaseState, Status, TaskRecord, moved
from gdpr.commands import CasePolicy, IssueTask
from gdpr.routing import (
    ALL_CHANNELS,
    DIRECTIVE_SUBMISSION,
    DIRECTIVES,
    ERASURE_PENDING,
    OBJECTION,
    RIGHT_ACTIONS,
    WITHDRAWAL,
)
from schemas.intake import PostMortemAction, Right
from schemas.tasks import ChangeKind, TaskAction, TaskStatus

CHANGES = {
    TaskAction.RECTIFY: ChangeKind.RECTIFICATION,
    TaskAction.ERASE: ChangeKind.ERASURE,
    TaskAction.RESTRICT: ChangeKind.RESTRICTION,
}


def task(system: str, action: TaskAction, key: str = "", **params) -> IssueTask:
    suffix = f":{key}" if key else ""
    return IssueTask(f"task:{system}:{action.value}{suffix}", system, action, key, params)


def main_tasks(state: CaseState) -> list[IssueTask]:
    """What PROCESSING waits for: the right's own action on every system concerned."""
    if state.post_mortem is not None:
        return _post_mortem_tasks(state)
    if state.right in (Right.OBJECTION, Right.CONSENT_WITHDRAWAL) and not state.is_general_objection():
        return suppress_marketing(state)
    if state.is_general_objection():
        return erase(state, state.holders()) if state.objection_upheld else []
    action = RIGHT_ACTIONS[state.right]
    if action == TaskAction.ERASE:
        return erase(state, state.holders())
    if action == TaskAction.RESTRICT:
        return restrict(state)
    return [task(system, action) for system in state.holders()]


def suppress_marketing(state: CaseState, reason: str | None = None) -> list[IssueTask]:
    """R30, R45: every marketing system, known or not, so the address is never re-imported."""
    channels = [c.value for c in state.details.channels] or list(ALL_CHANNELS)
    systems = [s for s in state.marketing_systems if s in state.systems]
    # R31: a withdrawal is recorded as such, and is no objection to the profiling behind marketing (21(2)).
    reason = reason or (WITHDRAWAL if state.right == Right.CONSENT_WITHDRAWAL else OBJECTION)
    return [task(s, TaskAction.SUPPRESS_MARKETING, channels=channels, reason=reason) for s in systems]


def marketing_stops_first(state: CaseState) -> bool:
    """§3.2: an erasure stops marketing before the identity is confirmed (the risk of harm is low); the
    data themselves wait for the confirmation, as a wrongful erasure is a breach too."""
    return state.right == Right.ERASURE and bool(suppress_marketing(state, ERASURE_PENDING))


def erase(state: CaseState, systems: list[str], key: str = "") -> list[IssueTask]:
    holds = [h.model_dump(mode="json") for h in state.active_holds()]
    return [task(s, TaskAction.ERASE, key, holds=holds) for s in systems]


def restrict(state: CaseState) -> list[IssueTask]:
    ground = state.details.restriction_ground
    reason = ground.value if ground else "accuracy_contested"
    return [task(s, TaskAction.RESTRICT, reason=reason) for s in state.holders() if s != DIRECTIVES]


def lift_tasks(state: CaseState) -> list[IssueTask]:
    return [task(t.system, TaskAction.LIFT_RESTRICTION) for t in state.tasks_for(TaskAction.RESTRICT)]


def release_tasks(state: CaseState) -> list[IssueTask]:
    """R46: once a hold is released, what it kept is erased (the same systems, the remaining holds)."""
    tasks: list[IssueTask] = []
    for hold_id in sorted(state.released_holds):
        hold = next(h for h in state.holds if h.hold_id == hold_id)
        kept = [
            t.system
            for t in state.tasks_for(TaskAction.ERASE)
            if any("*" in hold.categories or k.item in hold.categories for k in t.kept)
        ]
        tasks += erase(state, kept, key=f"release-{hold_id}")
    return tasks


def _post_mortem_tasks(state: CaseState) -> list[IssueTask]:
    action = state.post_mortem
    if action == PostMortemAction.RECORD_DIRECTIVE:
        return [task(DIRECTIVES, TaskAction.RECORD_SUBMISSION, submission_type=DIRECTIVE_SUBMISSION)]
    if action == PostMortemAction.REVOKE_DIRECTIVE:
        return erase(state, [DIRECTIVES]) if DIRECTIVES in state.holders() else []
    if action == PostMortemAction.ESTATE_ACCESS:  # LIL 85-II: the copy, once the DPO decided its scope
        return [task(system, TaskAction.EXPORT) for system in state.holders()] if state.estate else []
    stop = suppress_marketing(state)  # R39: marketing stops at once, directives or not
    if state.directives_erase is False:
        return stop
    return stop + erase(state, state.holders())  # then erasure, except legal holds


def to_processing(state: CaseState) -> CaseState:
    """PROCESSING, or straight to ANSWERING when the right asks nothing of any system."""
    return moved(state, Status.PROCESSING if main_tasks(state) else Status.ANSWERING)


def all_done(state: CaseState, tasks: list[IssueTask]) -> bool:
    records = [_record(state, t) for t in tasks]
    return all(r is not None and r.status == TaskStatus.DONE for r in records)


def main_work_over(state: CaseState) -> bool:
    """PROCESSING ends when every system did its task. A rectification also ends when a system answered that
    it could not apply the change: the person is told which, with the remedies (Art. 12(4), R11), instead of
    waiting past the deadline; the DPO is alerted and the system may still answer later."""
    tasks = main_tasks(state)
    if state.right != Right.RECTIFICATION:
        return all_done(state, tasks)
    records = [_record(state, t) for t in tasks]
    return all(r is not None and r.status is not None for r in records)


def _record(state: CaseState, issued: IssueTask) -> TaskRecord | None:
    return next(
        (t for t in state.tasks.values() if (t.system, t.action, t.key) == (issued.system, issued.action, issued.key)),
        None,
    )


def recipient_notices(state: CaseState, policy: CasePolicy) -> list[IssueTask]:
    """R35: after a rectification, erasure or restriction, every recipient of the systems changed is told."""
    changed: dict[ChangeKind, list[TaskRecord]] = {}
    for record in state.tasks.values():
        if record.action in CHANGES and record.status == TaskStatus.DONE and _changed(record):
            changed.setdefault(CHANGES[record.action], []).append(record)
    notices = []
    for change, records in sorted(changed.items()):
        for recipient in _recipients(records, policy):
            systems = sorted({r.system for r in records if recipient in policy.recipients_by_system.get(r.system, ())})
            fields = sorted({f for r in records for f in r.fields_changed})
            notices.append(
                task(
                    recipient,
                    TaskAction.NOTIFY_RECIPIENT,
                    change.value,
                    notice={"change": change.value, "recipient": recipient, "systems": systems, "fields": fields},
                )
            )
    return notices


def _changed(record: TaskRecord) -> bool:
    return bool(record.erased_items or record.fields_changed or record.restricted_items)


def _recipients(records: list[TaskRecord], policy: CasePolicy) -> list[str]:
    return sorted({r for record in records for r in policy.recipients_by_system.get(record.system, ())})


def awaiting_answers(state: CaseState, now: datetime, policy: CasePolicy) -> list[TaskRecord]:
    """Tasks out with the person's sealed identity, not answered yet and not overdue: the key must outlive them,
    or an Art. 19 notice queued behind the outcome e-mail could no longer be opened (R35, principle 5)."""
    return [t for t in state.tasks.values() if t.status is None and now - t.issued_at < policy.task_timeout]


def mail_in_flight(state: CaseState, now: datetime, policy: CasePolicy) -> list[datetime]:
    """When each e-mail still on its way was asked for: sent or parked within the mail retry budget, it may need
    the key to be opened until then (an outcome can overtake a receipt that waits for the relay)."""
    return [at for at in state.mail_out.values() if now - at < policy.mail_wait]


def notified_recipients(state: CaseState) -> list[str]:
    return sorted({t.system for t in state.tasks.values() if t.action == TaskAction.NOTIFY_RECIPIENT})


def lift_due(state: CaseState, today: date) -> bool:
    return state.lift is not None and today >= state.lift.lift_on
