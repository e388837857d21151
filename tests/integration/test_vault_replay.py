"""`dsr vault replay-destructions` after restoring the PostgreSQL vault: what dsr.audit says was destroyed is."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from dsr.vault import PostgresKeyVault
from schemas.audit import AuditRecord
from tests.integration.pipeline import ROOT

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret-0123456789abcdef"


def test_a_restored_vault_is_reconciled_with_the_audit_trail(kafka, postgres_dsn):
    gone, kept = f"ref-gone-{uuid.uuid4().hex[:8]}", f"ref-kept-{uuid.uuid4().hex[:8]}"
    # The restored backup still holds both keys; since the backup, one person was erased.
    restored = PostgresKeyVault(postgres_dsn, SECRET.encode())
    restored.key_for(gone)
    restored.key_for(kept)
    erased = AuditRecord(audit_id=f"a-{gone}", occurred_at=datetime.now(UTC), kind="key_destroyed", subject_ref=gone)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    producer.send("dsr.audit", key=b"case", value=erased.to_bytes()).get(30)
    producer.close()
    env = {
        **os.environ,
        "DSR_VAULT_DSN": postgres_dsn,
        "DSR_SECRET_KEY": SECRET,
        "DSR_KAFKA_BOOTSTRAP": kafka.bootstrap,
    }
    command = [sys.executable, "-m", "dsr.cli", "vault", "replay-destructions"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "on keys the restored vault still held" in done.stdout
    assert restored.get(gone) is None and restored.get(kept) is not None
