"""Creates the pipeline's topics with their retention before the workers start (idempotent)."""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams import topics

CONSUMED = (topics.INTAKE, topics.CASES, topics.TASK_RESULTS, topics.NOTIFICATIONS)
SHORT_RETENTION = {"retention.ms": str(topics.ONE_DAY_MS)}
DEAD_LETTERS = {"max.message.bytes": str(2 * 1024 * 1024)}  # the original message plus the reason headers


def topic_plan(systems: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every topic the pipeline owns, with its configuration."""
    plan: dict[str, dict[str, str]] = {name: {} for name in CONSUMED}
    plan |= {topics.dlq(name): dict(DEAD_LETTERS) for name in CONSUMED}
    plan |= {topics.AUDIT: {}, topics.NOTIFICATIONS_PARKED: {}}
    for system in systems:
        plan[topics.tasks(system)] = {}
        plan[topics.dlq(topics.tasks(system))] = dict(DEAD_LETTERS)
    for name in topics.PLAINTEXT_TOPICS:  # only place plaintext arrives: keep it one day
        plan[name] = plan[name] | SHORT_RETENTION
    return plan


def ensure_topics(
    bootstrap: str, systems: tuple[str, ...], partitions: int, replication: int, timeout: float = 60.0
) -> list[str]:
    """Create missing topics and enforce the short retention of plaintext topics; return those created."""
    admin = _connect(bootstrap, timeout)
    try:
        plan = topic_plan(systems)
        existing = set(admin.list_topics())
        created = [n for n in plan if n not in existing]
        new = [NewTopic(n, partitions, replication, topic_configs=plan[n]) for n in created]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
        resources = [ConfigResource(ConfigResourceType.TOPIC, n, configs=plan[n]) for n in topics.PLAINTEXT_TOPICS]
        admin.alter_configs(resources)
        return created
    finally:
        admin.close()


def _connect(bootstrap: str, timeout: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dsr-admin")
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"cannot reach Kafka at {bootstrap} (DSR_KAFKA_BOOTSTRAP): {exc}") from None
            time.sleep(1)
