"""Consumes `dsr.tasks.<system>` for built-in adapters: runs the task, publishes the result."""
from __future__ import annotations

from pydantic import ValidationError

from schemas.intake import describe
from schemas.tasks import Task
from streams import topics
from streams.context import Context, TaskRunner
from streams.dead_letters import Rejected


async def on_task(ctx: Context, runner: TaskRunner, raw: bytes) -> None:
    try:
        task = Task.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid task: {describe(exc)}") from None
    result = await runner(task)
    await ctx.publisher.publish(topics.TASK_RESULTS, task.subject_request_id, result.to_bytes())
