"""Topic names: the external contract (README) and the pipeline's internal topics."""

from __future__ import annotations

from kafka.partitioner.default import murmur2

INTAKE = "dsr.intake"  # CloudEvents from the website; the only plaintext topic (1 day retention)
CASES = "dsr.cases"  # case events, keyed by request id; input of the coordinator
TASK_RESULTS = "dsr.task-results"  # results from every system
NOTIFICATIONS = "dsr.notifications"  # e-mails to send (sealed)
NOTIFICATIONS_PARKED = "dsr.notifications.parked"  # e-mails that exhausted their retries, for the DPO
AUDIT = "dsr.audit"  # procedural facts, no personal data
RETENTION_SCANS = "dsr.retention-scans"  # systems' retention scan pages (schemas/scans.py), read by the sweep
TASKS_PREFIX = "dsr.tasks."


def tasks(system: str) -> str:
    return f"{TASKS_PREFIX}{system}"


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


# Headers on dead letters: why, and where the message came from.
DLQ_REASON = "dsr-dlq-reason"
DLQ_ORIGIN_TOPIC = "dsr-dlq-origin-topic"
DLQ_ORIGIN_PARTITION = "dsr-dlq-origin-partition"
DLQ_ORIGIN_OFFSET = "dsr-dlq-origin-offset"
DLQ_AT = "dsr-dlq-at"

ONE_DAY_MS = 24 * 3600 * 1000
PLAINTEXT_TOPICS = (INTAKE, dlq(INTAKE))  # short retention: the ingress and its dead letters


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the Java client and faust's) gives a key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
