"""Consumes `dsr.task-results`: stores sealed exports, forwards each answer to its case."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.cases import TaskAnswered
from schemas.intake import describe
from schemas.tasks import TaskResult
from streams import topics
from streams.audit import audit
from streams.context import Context
from streams.dead_letters import Rejected
from streams.sealing import SubjectForgotten


async def on_task_result(ctx: Context, raw: bytes) -> None:
    try:
        result = TaskResult.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid task result: {describe(exc)}") from None
    # Every answer goes to its case, Art. 19 acknowledgements too: the case keeps the person's key until every
    # task that needs it has been answered (R35). Form submissions are not cases: forwarded like the rest, the
    # coordinator records the result (audit_result, in the batch of its step) and, finding no case, stops there.
    portable = None
    if result.export is not None:
        ctx.exports.put_part(result.subject_request_id, result.system, result.export)
        portable = portable_items(ctx, result)
    answered = TaskAnswered(
        request_id=result.subject_request_id, result=result.model_copy(update={"export": None}), portable_items=portable
    )
    await ctx.publisher.publish(topics.CASES, result.subject_request_id, answered.to_bytes())


async def audit_result(ctx: Context, result: TaskResult) -> None:
    """R35, R50: what a system answered, in counts (never the data)."""
    await audit(
        ctx,
        "task_result",
        request_id=result.subject_request_id,
        system=result.system,
        action=result.action.value,
        status=result.status.value,
        dedup=f"{result.task_id}:{result.status}",
        detail={
            "erased_items": result.erased_items,
            "exported_items": result.exported_items,
            "kept": len(result.kept),
            "error": result.error,
        },
    )


def portable_items(ctx: Context, result: TaskResult) -> int:
    """R28: how many of the exported records are portable (consent or contract; provided or observed)."""
    try:
        records = ctx.sealer.open(result.export)["records"]
    except SubjectForgotten:
        return 0
    return sum(len(rows) for rows in ctx.register.portable(result.system, records).values())
