"""Consumes `dsr.task-results`: stores sealed exports, forwards each answer to its case."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.cases import TaskAnswered
from schemas.intake import describe
from schemas.tasks import TaskResult
from streams import request_log, topics
from streams.cases import CaseTable, coordinate
from streams.context import Context
from streams.dead_letters import Rejected
from streams.sealing import SubjectForgotten


async def on_task_result(ctx: Context, cases: CaseTable, raw: bytes, partition: int) -> None:
    """Each answer to its case: at once when it came on the partition its case lives on (systems key results by
    request id, and `dsr.task-results` has as many partitions as `dsr.cases`: the same worker owns both), else
    through `dsr.cases`, whose key takes it there."""
    try:
        result = TaskResult.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid task result: {describe(exc)}") from None
    request_log.concerns(result.subject_request_id)
    # Every answer goes to its case, Art. 19 acknowledgements too: the case keeps the person's key until every
    # task that needs it has been answered (R35). Form submissions are not cases: forwarded like the rest, the
    # coordinator records the result (in the batch of its step) and, finding no case, stops there.
    portable = None
    if result.export is not None:
        ctx.exports.put_part(result.subject_request_id, result.system, result.export)
        portable = portable_items(ctx, result)
    answered = TaskAnswered(
        request_id=result.subject_request_id, result=result.model_copy(update={"export": None}), portable_items=portable
    )
    if partition == topics.partition_of(answered.request_id, ctx.config.partitions):
        await coordinate(ctx, cases, answered)  # no second hop: one message fewer per answer
    else:
        await ctx.publisher.publish(topics.CASES, answered.request_id, answered.to_bytes())


def portable_items(ctx: Context, result: TaskResult) -> int:
    """R28: how many of the exported records are portable (consent or contract; provided or observed)."""
    try:
        records = ctx.sealer.open(result.export)["records"]
    except SubjectForgotten:
        return 0
    return sum(len(rows) for rows in ctx.register.portable(result.system, records).values())
