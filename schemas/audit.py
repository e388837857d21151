"""The audit trail on `dsr.audit`: every change, decision and notification, without personal data."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.notifications import MessageType


class AuditRecord(WireModel):
    """A procedural fact (R50): what happened to which case, never whose data."""

    audit_id: str = Field(description="Deterministic id; duplicates from replays share it.")
    occurred_at: AwareDatetime
    kind: str = Field(examples=["case_opened", "task_issued", "email_sent", "key_destroyed"])
    request_id: str | None = None
    subject_ref: str | None = None
    system: str | None = None
    action: str | None = None
    status: str | None = None
    message_type: MessageType | None = None
    detail: dict = Field(default_factory=dict, description="Counts, dates, reasons; never personal data.")
