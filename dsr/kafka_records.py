"""The console's Records port on the broker with kafka-python: audit trail, parked mail, dead letters."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner.default import murmur2

from dsr.parked_mail import parked_emails
from handlers.kafka_security import KafkaSecurity
from schemas.audit import AuditRecord, parse_audit
from streams import topics
from streams.web.console.records import DeadLetter, Parked, dead_letter, original_headers

READ_MS = 2000


class KafkaRecords:
    def __init__(self, bootstrap: str, security: KafkaSecurity | None = None) -> None:
        self.bootstrap, self.security = bootstrap, security or KafkaSecurity()

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            consumer_timeout_ms=READ_MS,
            **self.security.client_kwargs(),
        )

    def _read(self, partitions: list[TopicPartition]) -> list:
        consumer = self._consumer()
        try:
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            messages = []
            while any(consumer.position(p) < ends[p] for p in partitions):
                batch = consumer.poll(timeout_ms=READ_MS)
                if not batch:
                    break
                messages += [m for records in batch.values() for m in records]
            return messages
        finally:
            consumer.close()

    def _partitions(self, topic: str) -> list[TopicPartition]:
        consumer = self._consumer()
        try:
            return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        finally:
            consumer.close()

    def audit_trail(self, request_id: str) -> list[AuditRecord]:
        """Audit records are keyed by request id: only that key's partition is read (Kafka's murmur2)."""
        partitions = self._partitions(topics.AUDIT)
        if not partitions:
            return []
        chosen = partitions[(murmur2(request_id.encode()) & 0x7FFFFFFF) % len(partitions)]
        key = request_id.encode()
        records = [r for m in self._read([chosen]) if m.key == key for r in parse_audit(m.value)]
        return sorted({r.audit_id: r for r in records}.values(), key=lambda r: r.occurred_at)

    def parked(self) -> list[Parked]:
        return [Parked(p.request, p.reason, p.parked_at) for p in parked_emails(self.bootstrap, security=self.security)]

    def retry(self, message_id: str) -> bool:
        chosen = [p for p in self.parked() if p.request.message_id == message_id]
        for parked in chosen:
            self._send(topics.NOTIFICATIONS, parked.request.request_id.encode(), parked.request.to_bytes(), {})
        return bool(chosen)

    def dead_letters(self, dlq_topics: list[str]) -> list[DeadLetter]:
        partitions = [p for topic in dlq_topics for p in self._partitions(topic)]
        messages = self._read(partitions) if partitions else []
        return [dead_letter(m.topic, m.partition, m.offset, _headers(m)) for m in messages]

    def replay(self, dead: DeadLetter) -> bool:
        found = [m for m in self._read([TopicPartition(dead.topic, dead.partition)]) if m.offset == dead.offset]
        for message in found:
            self._send(dead.origin_topic, message.key, message.value, original_headers(_headers(message)))
        return bool(found)

    def _send(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **self.security.client_kwargs())
        try:
            encoded = [(k, v.encode()) for k, v in headers.items()]
            producer.send(topic, key=key, value=value, headers=encoded or None).get(30)
        finally:
            producer.close()


def _headers(message) -> dict[str, str]:
    return {k: (v or b"").decode(errors="replace") for k, v in message.headers or ()}
