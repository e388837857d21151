"""What the console reads from Kafka and writes back (audit trail, parked mail, dead letters): a port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from schemas.audit import AuditRecord, parse_audit
from schemas.notifications import EmailRequested
from streams import topics


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic
    partition: int
    offset: int
    reason: str
    origin_topic: str
    at: str

    @property
    def key(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Parked:
    request: EmailRequested
    reason: str
    parked_at: str


class Records(Protocol):
    """Blocking calls (the views run them in a thread); every one reads or writes Kafka, never a local copy."""

    def audit_trail(self, request_id: str) -> list[AuditRecord]: ...

    def parked(self) -> list[Parked]:
        """Each parked e-mail once (its latest parking)."""

    def retry(self, message_id: str) -> bool:
        """Send one parked e-mail to the mailer again; False if no such parked e-mail."""

    def dead_letters(self, dlq_topics: list[str]) -> list[DeadLetter]: ...

    def replay(self, dead: DeadLetter) -> bool:
        """Publish the dead letter's original key, value and headers to its original topic (acks=all)."""


Log = Callable[[], list[tuple[str, str | bytes | None, bytes, dict]]]


class LogRecords:
    """The in-package twin: reads a list of published messages (an in-memory bus) and publishes through `send`."""

    def __init__(self, log: Log, send: Callable[[str, str | bytes | None, bytes, dict], None]) -> None:
        self._log, self._send = log, send

    def audit_trail(self, request_id: str) -> list[AuditRecord]:
        records = [r for t, _, v, _ in self._log() if t == topics.AUDIT for r in parse_audit(v)]
        return sorted({r.audit_id: r for r in records if r.request_id == request_id}.values(), key=_when)

    def parked(self) -> list[Parked]:
        found = {}
        for topic, _, value, headers in self._log():
            if topic == topics.NOTIFICATIONS_PARKED:
                request = EmailRequested.model_validate_json(value)
                found[request.message_id] = Parked(
                    request, headers.get("dsr-parked-reason", ""), headers.get("dsr-parked-at", "")
                )
        return list(found.values())

    def retry(self, message_id: str) -> bool:
        chosen = [p for p in self.parked() if p.request.message_id == message_id]
        for parked in chosen:
            self._send(topics.NOTIFICATIONS, parked.request.request_id, parked.request.to_bytes(), {})
        return bool(chosen)

    def dead_letters(self, dlq_topics: list[str]) -> list[DeadLetter]:
        letters = []
        for offset, (topic, _, _, headers) in enumerate(self._log()):
            if topic in dlq_topics:
                letters.append(dead_letter(topic, 0, offset, headers))
        return letters

    def replay(self, dead: DeadLetter) -> bool:
        log = self._log()
        if dead.offset >= len(log) or log[dead.offset][0] != dead.topic:
            return False
        _, key, value, headers = log[dead.offset]
        self._send(dead.origin_topic, key, value, original_headers(headers))
        return True


def dead_letter(topic: str, partition: int, offset: int, headers: dict[str, str]) -> DeadLetter:
    origin = headers.get(topics.DLQ_ORIGIN_TOPIC) or topic.removesuffix(".dlq")
    return DeadLetter(
        topic, partition, offset, headers.get(topics.DLQ_REASON, ""), origin, headers.get(topics.DLQ_AT, "")
    )


def original_headers(headers: dict[str, str]) -> dict[str, str]:
    """The message as it first came: without the dead-letter headers."""
    return {k: v for k, v in headers.items() if not k.startswith("dsr-dlq-")}


def _when(record: AuditRecord):
    return record.occurred_at
