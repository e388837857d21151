"""Documents a person uploads because we asked (an ID, proof of a death): sealed, checked, then deleted."""

from __future__ import annotations

from gdpr.case_state import CaseState, Status
from schemas.cases import DocumentKind, DocumentReceived
from streams import topics
from streams.audit import audit
from streams.context import Context

ACCEPTED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def awaited(state: CaseState) -> DocumentKind | None:
    """The document this case is waiting for, if any: an ID once asked for (L3), or proof of a death."""
    if state.status == Status.AWAITING_PROOF:
        return DocumentKind.DEATH_PROOF
    if state.status == Status.AWAITING_VERIFICATION and state.id_requested_at is not None:
        return DocumentKind.ID_DOCUMENT
    return None


def sniffed_type(data: bytes) -> str | None:
    """The media type the bytes themselves show (never the name or the type the browser claims)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


async def receive_document(ctx: Context, state: CaseState, kind: DocumentKind, content_type: str, data: bytes) -> None:
    """Seal and keep it, then tell the case; the audit keeps what arrived and when, never the content."""
    ctx.documents.put(state.request_id, content_type, ctx.sealer.seal_bytes(state.subject_ref, data))
    event = DocumentReceived(request_id=state.request_id, document=kind, received_at=ctx.clock())
    await ctx.publisher.publish(topics.CASES, state.request_id, event.to_bytes())
    await audit(
        ctx,
        "document_received",
        request_id=state.request_id,
        subject_ref=state.subject_ref,
        dedup=f"document:{event.received_at.isoformat()}",
        detail={"document": kind.value},
    )


def open_document(ctx: Context, request_id: str) -> tuple[str, bytes] | None:
    """For the DPO's check only (console, dpo role); raises SubjectForgotten once the key is gone."""
    stored = ctx.documents.get(request_id)
    return (stored[0], ctx.sealer.open_bytes(stored[1])) if stored else None


async def expire_documents(ctx: Context) -> None:
    """A document nobody checked within the limit is deleted all the same (R16)."""
    for request_id in ctx.documents.delete_older_than(ctx.clock() - ctx.config.document_ttl):
        await audit(ctx, "document_expired", request_id=request_id, dedup="document_expired")
