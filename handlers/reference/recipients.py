"""An Art. 19 recipient in the dev stack: a processor or franchisee inbox that files the notices it receives."""

from __future__ import annotations

import json

from handlers.protocol import Capabilities, Subject, capabilities_for
from handlers.reference.db import Clock, Location, open_database, plain_row, utcnow
from handlers.verbs import check_notice, notice_row, subject_hash
from schemas.tasks import RecipientNotice, TaskAction

# Several recipients may share one file: each row names its recipient. The subject is a keyed hash,
# salted per recipient, never the address: the notice says what changed, not to whom (R35).
RECIPIENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (id {id}, task_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL,
  change TEXT NOT NULL, systems TEXT NOT NULL, fields TEXT NOT NULL, subject_hash TEXT NOT NULL,
  received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notices_recipient ON notices (recipient);
"""

RECEIVE = """
INSERT INTO notices (task_id, recipient, change, systems, fields, subject_hash, received_at)
VALUES (:task_id, :recipient, :change, :systems, :fields, :subject_hash, :received_at)
ON CONFLICT (task_id) DO NOTHING
"""


class RecipientInbox:
    """Stands in for an external recipient (R35): receives Art. 19 notices, once per task id."""

    def __init__(self, where: Location, recipient_id: str, secret: bytes, clock: Clock = utcnow) -> None:
        if not secret:
            raise ValueError("the inbox needs a secret key, or its subject hashes can be reversed by guessing")
        self.name = recipient_id
        self.capabilities: Capabilities = capabilities_for({TaskAction.NOTIFY_RECIPIENT})
        self._db = open_database(where, RECIPIENTS_SCHEMA)
        self._secret = secret
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    def receive(self, task_id: str, notice: RecipientNotice, subject: Subject) -> None:
        """File the notice; a redelivered task (same id) changes nothing."""
        notice = check_notice(self.name, notice)
        row = notice_row(
            self.name, task_id, notice, subject_hash(self._secret, self.name, subject.email), self._clock().isoformat()
        )
        with self._db.transaction() as conn:
            conn.execute(RECEIVE, row | {"systems": json.dumps(row["systems"]), "fields": json.dumps(row["fields"])})

    def notices(self) -> list[dict]:
        """What this recipient received, oldest first."""
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT * FROM notices WHERE recipient = ? ORDER BY id", (self.name,)).fetchall()
        return [
            plain_row(row) | {"systems": json.loads(row["systems"]), "fields": json.loads(row["fields"])}
            for row in rows
        ]
