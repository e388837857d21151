"""Consumes `dsr.tasks.<system>` for built-in adapters: runs the task, publishes the result."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.intake import describe
from schemas.tasks import Task, TaskStatus
from streams import request_log, topics
from streams.context import Context, TaskRunner
from streams.dead_letters import Origin, Rejected, dead_letter

AFTER_RUNNING = -1  # DLQ header offset of a task dead-lettered after it ran and failed, not at decoding


async def on_task(ctx: Context, runner: TaskRunner, raw: bytes) -> None:
    try:
        task = Task.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid task: {describe(exc)}") from None
    request_log.concerns(task.subject_request_id)
    result = await runner(task)
    await ctx.publisher.publish(topics.TASK_RESULTS, task.subject_request_id, result.to_bytes())
    if result.status == TaskStatus.FAILED:  # the case tells the DPO; the task waits in the DLQ to be replayed
        origin = Origin(topics.tasks(task.system), AFTER_RUNNING, AFTER_RUNNING, task.subject_request_id.encode(), raw)
        await dead_letter(ctx, origin, f"task {task.task_id} failed after the retry budget: {result.error}")
