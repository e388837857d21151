"""After a restore, every key the audit trail says was destroyed is destroyed again; unreadable records are counted."""

from __future__ import annotations

from datetime import UTC, datetime

from dsr.shredding import replay_destructions
from schemas.audit import AuditBatch, AuditRecord
from streams.ports import MemoryKeyVault


def record(kind: str, ref: str) -> bytes:
    return AuditRecord(
        audit_id=f"{kind}-{ref}", occurred_at=datetime(2027, 3, 1, tzinfo=UTC), kind=kind, subject_ref=ref
    ).to_bytes()


def test_a_restored_vault_loses_again_the_keys_destroyed_since_the_backup():
    # The backup was taken before ref-a's erasure; ref-b's case is still open.
    vault = MemoryKeyVault()
    vault.key_for("ref-a")
    vault.key_for("ref-b")
    trail = [record("case_opened", "ref-a"), record("key_destroyed", "ref-a"), record("key_destroyed", "ref-a")]
    trail += [record("key_destroyed", "ref-c"), record("case_opened", "ref-b"), b"not json", None]
    done = replay_destructions(vault, trail)
    assert vault.get("ref-a") is None and vault.get("ref-b") is not None
    assert (done.records, done.destructions, done.resurrected, done.unreadable) == (7, 2, 1, 2)


def test_a_destruction_inside_a_batch_is_replayed_too():
    vault = MemoryKeyVault()
    vault.key_for("ref-a")
    records = [AuditRecord.model_validate_json(record(kind, "ref-a")) for kind in ("task_result", "key_destroyed")]
    batch = AuditBatch(batch_id="b1", records=records).to_bytes()
    done = replay_destructions(vault, [batch])
    assert vault.get("ref-a") is None and (done.records, done.destructions, done.unreadable) == (2, 1, 0)
