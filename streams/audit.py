"""Publishing audit records (no personal data): those of one processing step go out as one batch."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar

from gdpr.lifecycle import stable_id
from schemas.audit import AuditBatch, AuditRecord
from streams import topics
from streams.context import Context

# The records of the step running in this asyncio task (an agent's); None outside a step (web views, timer).
_STEP: ContextVar[list[AuditRecord] | None] = ContextVar("audit_step", default=None)


async def audit(ctx: Context, kind: str, *, request_id: str | None = None, dedup: str = "", **fields) -> None:
    """Record one audit fact; `dedup` makes replays produce the same audit id. Inside a step it joins the step's
    batch, outside it is published at once."""
    record = AuditRecord(
        audit_id=stable_id("audit", kind, request_id or "", dedup or ctx.clock().isoformat()),
        occurred_at=ctx.clock(),
        kind=kind,
        request_id=request_id,
        **fields,
    )
    pending = _STEP.get()
    if pending is None:
        await publish_records(ctx, [record])
    else:
        pending.append(record)


@contextlib.asynccontextmanager
async def audit_step(ctx: Context) -> AsyncIterator[None]:
    """Collect the audit records of one step and publish them, one message per case, when it ends; also when it
    fails part way, since what it did before failing (a task issued, a key destroyed) happened (R50)."""
    pending: list[AuditRecord] = []
    token = _STEP.set(pending)
    try:
        yield
    finally:
        _STEP.reset(token)
        await publish_records(ctx, pending)


async def publish_records(ctx: Context, records: list[AuditRecord]) -> None:
    """One message per case (keyed by its request id): a lone record as itself, several as a batch."""
    by_case: dict[str | None, list[AuditRecord]] = {}
    for record in records:
        by_case.setdefault(record.request_id, []).append(record)
    for request_id, group in by_case.items():
        await ctx.publisher.publish(topics.AUDIT, request_id, _message(request_id, group))


def _message(request_id: str | None, records: list[AuditRecord]) -> bytes:
    if len(records) == 1:
        return records[0].to_bytes()
    batch_id = stable_id("audit-batch", *(r.audit_id for r in records))
    return AuditBatch(batch_id=batch_id, request_id=request_id, records=records).to_bytes()
