"""The console's Records port on the broker with kafka-python: audit trail, parked mail, dead letters."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner.default import murmur2

from dsr.parked_mail import parked_emails
from handlers.kafka_security import KafkaSecurity
from mail.parked import Parked
from schemas.audit import AuditRecord, parse_audit
from streams import topics
from streams.web.console.records import DeadLetter, dead_letter, original_headers

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

    def _read(self, spans: dict[TopicPartition, tuple[int, int]]) -> list:
        """The records of each partition from its first offset up to (not including) its second: a seek, then only
        that span is fetched."""
        wanted = {p: span for p, span in spans.items() if span[0] < span[1]}
        if not wanted:
            return []
        consumer = self._consumer()
        try:
            consumer.assign(list(wanted))
            for partition, (start, _) in wanted.items():
                consumer.seek(partition, start)
            messages = []
            while any(consumer.position(p) < stop for p, (_, stop) in wanted.items()):
                batch = consumer.poll(timeout_ms=READ_MS)
                if not batch:
                    break
                messages += [m for p, records in batch.items() for m in records if m.offset < wanted[p][1]]
            return messages
        finally:
            consumer.close()

    def _offsets(self, topic_names: list[str]) -> dict[TopicPartition, tuple[int, int]]:
        """Each partition's first offset and the next one to be written: what it holds, without reading it."""
        consumer = self._consumer()
        try:
            partitions = [
                TopicPartition(t, p) for t in topic_names for p in sorted(consumer.partitions_for_topic(t) or ())
            ]
            if not partitions:
                return {}
            firsts, ends = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
            return {p: (firsts[p], ends[p]) for p in partitions}
        finally:
            consumer.close()

    def everything_in(self, topic: str) -> list:
        """Every record the topic holds, partition by partition (for tools and tests; the console reads pages)."""
        return self._read(self._offsets([topic]))

    def audit_trail(self, request_id: str) -> list[AuditRecord]:
        """Audit records are keyed by request id: only that key's partition is read (Kafka's murmur2)."""
        offsets = self._offsets([topics.AUDIT])
        if not offsets:
            return []
        chosen = list(offsets)[(murmur2(request_id.encode()) & 0x7FFFFFFF) % len(offsets)]
        key = request_id.encode()
        records = [r for m in self._read({chosen: offsets[chosen]}) if m.key == key for r in parse_audit(m.value)]
        return sorted({r.audit_id: r for r in records}.values(), key=lambda r: r.occurred_at)

    def parked(self) -> list[Parked]:
        return parked_emails(self.bootstrap, security=self.security)

    def retry(self, message_id: str) -> bool:
        chosen = [p for p in self.parked() if p.request.message_id == message_id]
        for parked in chosen:
            self._send(topics.NOTIFICATIONS, parked.request.request_id.encode(), parked.request.to_bytes(), {})
        return bool(chosen)

    def dead_letter_counts(self, dlq_topics: list[str]) -> dict[str, int]:
        counts = dict.fromkeys(dlq_topics, 0)
        for partition, (first, end) in self._offsets(dlq_topics).items():
            counts[partition.topic] += end - first
        return counts

    def dead_letters(self, topic: str, page: int, size: int) -> list[DeadLetter]:
        """Whatever the partitions' interleaving, the newest (page + 1) x size of each one hold the page: merged
        newest first by the broker's timestamp, the page is cut out of them."""
        depth = (page + 1) * size
        tails = {p: (max(first, end - depth), end) for p, (first, end) in self._offsets([topic]).items()}
        messages = sorted(self._read(tails), key=lambda m: (m.timestamp, m.partition, m.offset), reverse=True)
        return [dead_letter(m.topic, m.partition, m.offset, _headers(m)) for m in messages[page * size : depth]]

    def replay(self, topic: str, partition: int, offset: int) -> DeadLetter | None:
        chosen = TopicPartition(topic, partition)
        first, end = self._offsets([topic]).get(chosen, (0, 0))
        found = (
            [m for m in self._read({chosen: (offset, offset + 1)}) if m.offset == offset]
            if first <= offset < end
            else []
        )
        if not found:
            return None
        message = found[0]
        dead = dead_letter(topic, partition, offset, _headers(message))
        self._send(dead.origin_topic, message.key, message.value, original_headers(_headers(message)))
        return dead

    def _send(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **self.security.client_kwargs())
        try:
            encoded = [(k, v.encode()) for k, v in headers.items()]
            producer.send(topic, key=key, value=value, headers=encoded or None).get(30)
        finally:
            producer.close()


def _headers(message) -> dict[str, str]:
    return {k: (v or b"").decode(errors="replace") for k, v in message.headers or ()}
