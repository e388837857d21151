"""What the console reads from Kafka and writes back (audit trail, parked mail, dead letters): a port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mail.parked import Parked
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


def letter_address(key: str) -> tuple[str, int, int] | None:
    """A dead letter's key read back: topic, partition, offset; None when it is not one."""
    parts = key.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


class Records(Protocol):
    """Blocking calls (the views run them in a thread); every one reads or writes Kafka, never a local copy."""

    def audit_trail(self, request_id: str) -> list[AuditRecord]: ...

    def parked(self) -> list[Parked]:
        """Each parked e-mail once (its latest parking)."""

    def retry(self, message_id: str) -> bool:
        """Send one parked e-mail to the mailer again; False if no such parked e-mail."""

    def dead_letter_counts(self, dlq_topics: list[str]) -> dict[str, int]:
        """How many dead letters each topic holds, from its offsets alone (nothing is read)."""

    def dead_letters(self, topic: str, page: int, size: int) -> list[DeadLetter]:
        """One page of a dead-letter topic, newest first (page 0: the newest `size`). Only the tail it needs is
        read: the last (page + 1) x size records of each partition, never the topic from its beginning."""

    def replay(self, topic: str, partition: int, offset: int) -> DeadLetter | None:
        """Publish the dead letter at that offset (read alone: a seek, not a scan) to its original topic, with its
        original key, value and headers (acks=all); None if the topic holds no record there."""


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

    def dead_letter_counts(self, dlq_topics: list[str]) -> dict[str, int]:
        counts = dict.fromkeys(dlq_topics, 0)
        for topic, _, _, _ in self._log():
            if topic in counts:
                counts[topic] += 1
        return counts

    def dead_letters(self, topic: str, page: int, size: int) -> list[DeadLetter]:
        """The offset of a letter here is its place in the whole log (one partition for every topic)."""
        letters = [dead_letter(t, 0, offset, headers) for offset, (t, _, _, headers) in enumerate(self._log())]
        newest_first = [d for d in reversed(letters) if d.topic == topic]
        return newest_first[page * size : (page + 1) * size]

    def replay(self, topic: str, partition: int, offset: int) -> DeadLetter | None:
        log = self._log()
        if partition != 0 or not 0 <= offset < len(log) or log[offset][0] != topic:
            return None
        _, key, value, headers = log[offset]
        dead = dead_letter(topic, partition, offset, headers)
        self._send(dead.origin_topic, key, value, original_headers(headers))
        return dead


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
