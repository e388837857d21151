"""The task runtime: one task in, one result out, whatever the adapter does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.answers import AnswerRecord
from handlers.protocol import (
    MARKETING_CHANNELS,
    Adapter,
    InvalidTask,
    Recipient,
    Subject,
    TaskRefused,
    UnsupportedAction,
    erases_by_category,
)
from handlers.verbs import check_code
from schemas.clock import utcnow
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction, TaskResult, TaskStatus

Opener = Callable[[Sealed], dict]
Sealer = Callable[[str, dict], Sealed]

ALL = "all"  # suppress_marketing: a task naming "all" (or no channel) stops every channel (R30, GS-08)
DEFAULT_SUPPRESSION_SOURCE = "objection"  # Art. 21(2)-(3), unless the task says "withdrawal" (R31)


class TransientAdapterError(Exception):
    """The system may succeed later (database down, timeout)."""


async def run_task(
    adapter: Adapter | Recipient,
    task: Task,
    open_sealed: Opener,
    seal: Sealer,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 60.0,
    clock: Callable[[], datetime] = utcnow,
) -> TaskResult:
    """Run with retries on transient errors and a timeout; always return a result, never raise."""
    error = "not attempted"
    for attempt in range(1, attempts + 1):
        try:
            fields = await asyncio.wait_for(asyncio.to_thread(_act, adapter, task, open_sealed, seal), timeout)
            return _result(task, clock(), TaskStatus.DONE, **fields)
        except (TransientAdapterError, TimeoutError) as exc:
            error = f"{type(exc).__name__} after {attempt} attempt(s)"
            if attempt < attempts:  # no pause after the last try: the result is due now
                await asyncio.sleep(backoff * 2 ** (attempt - 1))
        except TaskRefused as exc:  # its message is written to carry no personal data
            return _result(task, clock(), TaskStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the case must hear about it, not lose the task
            return _result(task, clock(), TaskStatus.FAILED, error=f"{type(exc).__name__}: the system could not act")
    return _result(task, clock(), TaskStatus.FAILED, error=error)


@dataclass(frozen=True)
class _Call:
    """One task on one adapter, with the subject opened and the sealing functions at hand."""

    adapter: Any
    task: Task
    subject: Subject
    open_sealed: Opener
    seal: Sealer


def _act(adapter: Adapter | Recipient, task: Task, open_sealed: Opener, seal: Sealer) -> dict:
    declared = adapter.capabilities.actions
    if task.action not in declared:
        raise UnsupportedAction(
            f"system '{adapter.name}' does not support '{task.action.value}' (it declares: "
            f"{', '.join(sorted(a.value for a in declared)) or 'nothing'}); route the task to a system that "
            f"declares it, or add the verb to the adapter"
        )
    subject = Subject(**open_sealed(task.subject))
    return _VERBS[task.action](_Call(adapter, task, subject, open_sealed, seal))


def _lookup(call: _Call) -> dict:
    answer = call.adapter.lookup(call.subject)
    return {"holds_data": answer.holds_data, "channels": list(answer.channels)}


def _export(call: _Call) -> dict:
    export = call.adapter.export(call.subject)
    return {
        "exported_items": export.item_count(),
        "export": call.seal(call.task.subject_ref, {"system": call.adapter.name, "records": export.records}),
    }


def _erase(call: _Call) -> dict:
    holds, named = tuple(call.task.holds), tuple(call.task.categories)  # R46: held data stay, restricted
    if not named:
        report = call.adapter.erase(call.subject, holds=holds)
    elif erases_by_category(call.adapter):  # R44: the sweep's categories past their end, the others stay
        report = call.adapter.erase(call.subject, holds=holds, categories=named)
    else:  # never the whole person in their place: what still runs must stay
        raise InvalidTask(f"system '{call.adapter.name}' does not erase by category; the task names categories")
    return {"erased_items": report.erased_items, "kept": list(report.kept)}


def _rectify(call: _Call) -> dict:
    """R25: the result names the fields changed; old and new values travel sealed, for the outcome e-mail."""
    payload = call.open_sealed(call.task.payload) if call.task.payload else {}
    report = call.adapter.rectify(call.subject, payload.get("changes") or {})
    if not report.changed:
        return {}
    changes = {name: {"old": old, "new": new} for name, (old, new) in report.changed.items()}
    return {"fields_changed": sorted(report.changed), "changes": call.seal(call.task.subject_ref, changes)}


def _restrict(call: _Call) -> dict:
    if not call.task.reason:
        raise InvalidTask("restrict needs the Art. 18(1) case in 'reason'")
    return {"restricted_items": call.adapter.restrict(call.subject, call.task.reason).items}


def _lift_restriction(call: _Call) -> dict:
    return {"restricted_items": call.adapter.lift_restriction(call.subject).items}


def _suppress_marketing(call: _Call) -> dict:
    channels = tuple(call.task.channels)
    if not channels or ALL in channels:
        channels = MARKETING_CHANNELS
    source = call.task.reason or DEFAULT_SUPPRESSION_SOURCE
    report = call.adapter.suppress_marketing(call.subject, channels, source=source)
    return {
        "suppressed_channels": list(report.channels),
        "kept": list(report.kept),
        "erased_items": report.erased_items,
    }


def _notify_recipient(call: _Call) -> dict:
    if call.task.notice is None:
        raise InvalidTask("notify_recipient needs a notice")
    call.adapter.receive(call.task.task_id, call.task.notice, call.subject)  # Art. 19, R35
    return {}


def _record_submission(call: _Call) -> dict:
    payload = call.open_sealed(call.task.payload) if call.task.payload else {}
    call.adapter.record_submission(call.task.subject_request_id, call.task.submission_type or "", call.subject, payload)
    return {}


def _record_contact(call: _Call) -> dict:
    """CNIL-COM, §5 row 5: a contact the person initiated, at the time the task was issued (their answer)."""
    kind = check_code(call.task.reason, "record_contact's reason (the kind of contact)")
    call.adapter.record_contact(call.subject, kind, call.task.issued_at)
    return {}


_VERBS: dict[TaskAction, Callable[[_Call], dict]] = {
    TaskAction.LOOKUP: _lookup,
    TaskAction.EXPORT: _export,
    TaskAction.ERASE: _erase,
    TaskAction.RECTIFY: _rectify,
    TaskAction.RESTRICT: _restrict,
    TaskAction.LIFT_RESTRICTION: _lift_restriction,
    TaskAction.SUPPRESS_MARKETING: _suppress_marketing,
    TaskAction.NOTIFY_RECIPIENT: _notify_recipient,
    TaskAction.RECORD_SUBMISSION: _record_submission,
    TaskAction.RECORD_CONTACT: _record_contact,
}


def _result(task: Task, completed_at: datetime, status: TaskStatus, **fields) -> TaskResult:
    return TaskResult(
        task_id=task.task_id,
        subject_request_id=task.subject_request_id,
        system=task.system,
        action=task.action,
        status=status,
        completed_at=completed_at,
        **fields,
    )


# An export's answer is the person's data (sealed): the record would keep that copy for a month, past the
# download link's life (DSR_DOWNLOAD_TTL_DAYS). An export only reads, and its case keeps the key: it runs again.
NOT_RECORDED = frozenset({TaskAction.EXPORT})


def remembered(runner: Callable[[Task], Awaitable[TaskResult]], record: AnswerRecord):
    """Idempotent by task id, for every action but exports: a redelivered task gets the answer recorded the first
    time, not a second run. A second erase would report 0 items and turn "erased" into "no data"; a second Art. 19
    notice after the key was destroyed would fail and send the DPO a false alarm. Only successes are recorded:
    a task that failed runs again when redelivered (the case keeps the first success). The record is read and
    written inline: one indexed statement, cheaper than a thread hop."""

    async def run(task: Task) -> TaskResult:
        if task.action in NOT_RECORDED:
            return await runner(task)
        answered = record.get(task.task_id)
        if answered is not None:
            return answered
        result = await runner(task)
        if result.status == TaskStatus.DONE:
            record.put(result)  # before the result is published: a crash after this replays, never re-runs
        return result

    return run
