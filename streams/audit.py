"""Publishing audit records: one per state change, task, result and e-mail (no personal data)."""

from __future__ import annotations

from gdpr.lifecycle import stable_id
from schemas.audit import AuditRecord
from streams import topics
from streams.context import Context


async def audit(ctx: Context, kind: str, *, request_id: str | None = None, dedup: str = "", **fields) -> None:
    """Publish one audit record; `dedup` makes replays produce the same audit id."""
    record = AuditRecord(
        audit_id=stable_id("audit", kind, request_id or "", dedup or ctx.clock().isoformat()),
        occurred_at=ctx.clock(),
        kind=kind,
        request_id=request_id,
        **fields,
    )
    await ctx.publisher.publish(topics.AUDIT, request_id, record.to_bytes())
