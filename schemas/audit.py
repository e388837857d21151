"""The audit trail on `dsr.audit`: every change, decision and notification, without personal data."""

from __future__ import annotations

from pydantic import AwareDatetime, Field, TypeAdapter

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


class AuditBatch(WireModel):
    """The audit records of one processing step (one consumed message), in one message on `dsr.audit`."""

    batch_id: str = Field(description="Deterministic id of the batch: the ids of its records, hashed.")
    request_id: str | None = Field(default=None, description="The case every record of the batch is about.")
    records: list[AuditRecord] = Field(min_length=1, description="In the order the step recorded them.")


_AUDIT_MESSAGE = TypeAdapter(AuditRecord | AuditBatch)


def parse_audit(raw: bytes | str) -> list[AuditRecord]:
    """The records of one `dsr.audit` message: a single record (as written before batches) or a batch.
    Raises pydantic's ValidationError for anything else."""
    message = _AUDIT_MESSAGE.validate_json(raw)
    return list(message.records) if isinstance(message, AuditBatch) else [message]
