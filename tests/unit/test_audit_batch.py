"""dsr.audit carries single records (as before batches) and batches of one step's records; both read the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.audit import AuditBatch, AuditRecord, parse_audit

AT = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def record(kind: str, **fields) -> AuditRecord:
    return AuditRecord(audit_id=f"id-{kind}", occurred_at=AT, kind=kind, request_id="r1", **fields)


def test_a_batch_reads_back_as_its_records_in_order():
    records = [record("task_result", system="crm", status="done"), record("task_issued", system="newsletter")]
    batch = AuditBatch(batch_id="b1", request_id="r1", records=records)
    assert parse_audit(batch.to_bytes()) == records


def test_a_single_record_written_before_batches_still_reads():
    old = b'{"audit_id":"a1","occurred_at":"2026-11-01T10:00:00Z","kind":"key_destroyed","subject_ref":"ref-9"}'
    (read,) = parse_audit(old)
    assert (read.kind, read.subject_ref, read.audit_id) == ("key_destroyed", "ref-9", "a1")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"batch_id":"b","records":[]}', b'{"batch_id":"b","records":[{"kind":"x"}]}'],
)
def test_anything_else_is_refused(raw):
    with pytest.raises(ValidationError):
        parse_audit(raw)
