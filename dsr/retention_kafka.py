"""The retention sweep on Kafka: tasks to dsr.tasks.<system>, dsr.audit, dsr.notifications; scans (kafka-python)."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from dsr.retention_backoffice import parse_page
from handlers.kafka_security import KafkaSecurity
from handlers.protocol import SystemUnanswered
from schemas.audit import AuditRecord
from schemas.notifications import EmailRequested
from schemas.scans import RetentionScanPage, RetentionScanRequest
from schemas.tasks import Task
from streams import topics

SEND_TIMEOUT = 60.0


class KafkaSweepSink:
    """Sends without waiting; `flush` returns once the broker acknowledged everything sent (acks=all)."""

    def __init__(self, bootstrap: str, security: KafkaSecurity | None = None) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=20, **(security or KafkaSecurity()).client_kwargs()
        )
        self._pending: list = []

    def task(self, task: Task) -> None:
        # Keyed by person: a sweep's tasks spread over the partitions, one person's stay in order.
        self._send(topics.tasks(task.system), task.subject_ref, task.to_bytes())

    def audit(self, record: AuditRecord) -> None:
        self._send(topics.AUDIT, record.request_id or "", record.to_bytes())

    def notify(self, request: EmailRequested) -> None:
        self._send(topics.NOTIFICATIONS, request.request_id, request.to_bytes())

    def flush(self) -> None:
        self._producer.flush(SEND_TIMEOUT)
        pending, self._pending = self._pending, []
        for future in pending:
            future.get(SEND_TIMEOUT)  # raises if the broker refused one

    def close(self) -> None:
        self._producer.close(SEND_TIMEOUT)

    def _send(self, topic: str, key: str, value: bytes) -> None:
        self._pending.append(self._producer.send(topic, key=key.encode(), value=value))


class KafkaScanTransport:
    """The scan requests on `dsr.tasks.<system>`, the pages from `dsr.retention-scans` (read from its end as it was
    just before the request, with no consumer group: every sweep reads the pages of its own scans only)."""

    def __init__(self, bootstrap: str, security: KafkaSecurity | None = None) -> None:
        kwargs = (security or KafkaSecurity()).client_kwargs()
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **kwargs)
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **kwargs)
        self._assigned: list[TopicPartition] = []

    def ask(self, request: RetentionScanRequest) -> None:
        if not self._assigned:
            found = self._consumer.partitions_for_topic(topics.RETENTION_SCANS)
            if not found:
                raise SystemUnanswered(f"no topic {topics.RETENTION_SCANS}: the workers create it (`dsr topics plan`)")
            self._assigned = [TopicPartition(topics.RETENTION_SCANS, p) for p in sorted(found)]
            self._consumer.assign(self._assigned)
        self._consumer.seek_to_end(*self._assigned)
        for partition in self._assigned:
            self._consumer.position(partition)  # fixes the end now, before the answer can arrive
        value = request.to_bytes()
        self._producer.send(topics.tasks(request.system), key=request.scan_id.encode(), value=value).get(SEND_TIMEOUT)

    def pages(self, scan_id: str, wait: float) -> list[RetentionScanPage]:
        key, found = scan_id.encode(), []
        for batch in self._consumer.poll(timeout_ms=int(wait * 1000)).values():
            found += [parse_page(m.value) for m in batch if m.key == key]
        return [page for page in found if page is not None and page.scan_id == scan_id]

    def close(self) -> None:
        self._consumer.close(autocommit=False)
        self._producer.close(SEND_TIMEOUT)
