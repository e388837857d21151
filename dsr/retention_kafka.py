"""The retention sweep's writes on Kafka: tasks to dsr.tasks.<system>, dsr.audit, dsr.notifications (kafka-python)."""

from __future__ import annotations

from kafka import KafkaProducer

from handlers.kafka_security import KafkaSecurity
from schemas.audit import AuditRecord
from schemas.notifications import EmailRequested
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
