"""The task runtime: one task in, one result out, whatever the adapter does."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Callable

from handlers.protocol import Adapter, Subject
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction, TaskResult, TaskStatus

Opener = Callable[[Sealed], dict]
Sealer = Callable[[str, dict], Sealed]


class TransientAdapterError(Exception):
    """The system may succeed later (database down, timeout)."""


async def run_task(adapter: Adapter, task: Task, open_sealed: Opener, seal: Sealer,
                   attempts: int = 3, backoff: float = 0.5, timeout: float = 60.0) -> TaskResult:
    """Run with retries on transient errors and a timeout; always return a result, never raise."""
    error = "not attempted"
    for attempt in range(1, attempts + 1):
        try:
            fields = await asyncio.wait_for(asyncio.to_thread(_act, adapter, task, open_sealed, seal), timeout)
            return _result(task, TaskStatus.DONE, **fields)
        except (TransientAdapterError, TimeoutError) as exc:
            error = f"{type(exc).__name__} after {attempt} attempt(s)"
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
        except Exception as exc:  # noqa: BLE001 - the case must hear about it, not lose the task
            return _result(task, TaskStatus.FAILED, error=f"{type(exc).__name__}: the system could not act")
    return _result(task, TaskStatus.FAILED, error=error)


def _act(adapter: Adapter, task: Task, open_sealed: Opener, seal: Sealer) -> dict:
    subject = Subject(**open_sealed(task.subject))
    if task.action not in adapter.capabilities.actions:
        raise ValueError(f"{adapter.name} does not support {task.action}")
    if task.action == TaskAction.LOOKUP:
        answer = adapter.lookup(subject)
        return {"holds_data": answer.holds_data, "channels": list(answer.channels)}
    if task.action == TaskAction.ERASE:
        report = adapter.erase(subject)
        return {"erased_items": report.erased_items, "kept": list(report.kept)}
    if task.action == TaskAction.EXPORT:
        export = adapter.export(subject)
        return {"exported_items": export.item_count(),
                "export": seal(task.subject_ref, {"system": adapter.name, "records": export.records})}
    payload = open_sealed(task.payload) if task.payload else {}
    adapter.record_submission(task.subject_request_id, task.submission_type or "", subject, payload)
    return {}


def _result(task: Task, status: TaskStatus, **fields) -> TaskResult:
    return TaskResult(task_id=task.task_id, subject_request_id=task.subject_request_id, system=task.system,
                      action=task.action, status=status, completed_at=datetime.now(timezone.utc), **fields)
