"""The pipeline's topics: created before the workers start, or checked where their owners create them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from handlers.kafka_security import KafkaSecurity
from streams import topics
from streams.app import APP_ID

CONSUMED = (topics.INTAKE, topics.CASES, topics.TASK_RESULTS, topics.NOTIFICATIONS)
SHORT_RETENTION = {"retention.ms": str(topics.ONE_DAY_MS)}
DEAD_LETTERS = {"max.message.bytes": str(2 * 1024 * 1024)}  # the original message plus the reason headers
COMPACTED = {"cleanup.policy": "compact"}
# faust's own topics: a table's changelog is `<app id>-<table>-changelog`, partitioned as the topic that
# writes the table (co-partitioning), and the leader-election topic has one partition.
CHANGELOGS = {
    f"{APP_ID}-cases-changelog": topics.CASES,
    f"{APP_ID}-sent-emails-changelog": topics.NOTIFICATIONS,
    f"{APP_ID}-mail-retries-changelog": topics.NOTIFICATIONS,
}
LEADER = f"{APP_ID}-__assignor-__leader"


@dataclass(frozen=True)
class TopicSpec:
    """`exact`: the partition count must equal the plan's (a table and the stream that writes it)."""

    partitions: int
    replication: int
    configs: dict[str, str] = field(default_factory=dict)
    exact: bool = False


def min_insync(replication: int) -> int:
    """A majority of the replicas, yet one fewer than all: 3 -> 2, so acks=all survives one broker down."""
    return max(1, min(replication - 1, replication // 2 + 1))


def topic_plan(systems: tuple[str, ...], partitions: int = 1, replication: int = 1) -> dict[str, TopicSpec]:
    """Every topic the pipeline owns, with its partitions, replicas and configuration."""
    configs: dict[str, dict[str, str]] = {name: {} for name in CONSUMED}
    configs |= {topics.dlq(name): dict(DEAD_LETTERS) for name in CONSUMED}
    configs |= {topics.AUDIT: {}, topics.NOTIFICATIONS_PARKED: {}}
    configs |= {topics.RETENTION_SCANS: dict(SHORT_RETENTION)}  # read once, by the sweep that asked
    for system in systems:
        configs[topics.tasks(system)] = {}
        configs[topics.dlq(topics.tasks(system))] = dict(DEAD_LETTERS)
    for name in topics.PLAINTEXT_TOPICS:  # only place plaintext arrives: keep it one day
        configs[name] = configs[name] | SHORT_RETENTION
    configs |= {name: dict(COMPACTED) for name in CHANGELOGS}
    durable = {"min.insync.replicas": str(min_insync(replication))} if replication > 1 else {}
    # dsr.task-results too: an answer on the partition of its case is handled there without a second hop.
    exact = {*CHANGELOGS, *CHANGELOGS.values(), topics.TASK_RESULTS}
    plan = {name: TopicSpec(partitions, replication, cfg | durable, name in exact) for name, cfg in configs.items()}
    return plan | {LEADER: TopicSpec(1, replication, durable)}


def ensure_topics(
    bootstrap: str,
    systems: tuple[str, ...],
    partitions: int,
    replication: int,
    timeout: float = 60.0,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create missing topics and enforce the short retention of plaintext topics; return those created."""
    admin = _connect(bootstrap, timeout, security)
    try:
        plan = topic_plan(systems, partitions, replication)
        existing = set(admin.list_topics())
        created = [n for n in plan if n not in existing]
        new = [NewTopic(n, plan[n].partitions, plan[n].replication, topic_configs=plan[n].configs) for n in created]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
        retention = [
            ConfigResource(ConfigResourceType.TOPIC, n, configs=SHORT_RETENTION) for n in topics.PLAINTEXT_TOPICS
        ]
        # Set, not checked: kafka-python's check reads the topic's current overrides, which a broker of a fresh
        # cluster may not know yet ("Unrecognized configs: {'retention.ms'}" stopped a worker's start).
        admin.alter_configs(retention, raise_on_unknown=False)
        return created
    finally:
        admin.close()


def verify_topics(
    bootstrap: str,
    systems: tuple[str, ...],
    partitions: int,
    replication: int,
    timeout: float = 60.0,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create nothing; return what is wrong with each topic of the plan, in words naming the topic."""
    admin = _connect(bootstrap, timeout, security)
    try:
        plan = topic_plan(systems, partitions, replication)
        described = {t["name"]: t for t in admin.describe_topics(list(plan)) if t.get("error_code", 0) == 0}
        configs = _min_insync_of(admin, list(described))
        return [
            problem
            for name, spec in plan.items()
            for problem in topic_problems(name, spec, described.get(name), configs.get(name))
        ]
    finally:
        admin.close()


def topic_problems(name: str, spec: TopicSpec, found: dict | None, min_insync_set: int | None = None) -> list[str]:
    """What `found` (kafka-python's description of the topic, None if missing) lacks against the plan;
    `min_insync_set` is the topic's min.insync.replicas in force (its own or the broker's default)."""
    if found is None:
        return [f"{name}: missing (create it with {_wanted(spec)})"]
    parts = found.get("partitions") or []
    problems = []
    if len(parts) < spec.partitions or (spec.exact and len(parts) != spec.partitions):
        rule = "exactly" if spec.exact else "at least"
        problems.append(f"{name}: {len(parts)} partition(s), needs {rule} {spec.partitions} (DSR_PARTITIONS)")
    replicas = min((len(p.get("replica_nodes") or []) for p in parts), default=0)
    if replicas < spec.replication:
        problems.append(f"{name}: {replicas} replica(s), needs {spec.replication} (DSR_REPLICATION_FACTOR)")
    wanted = int(spec.configs.get("min.insync.replicas", 1))
    if min_insync_set is not None and min_insync_set < wanted:
        problems.append(f"{name}: min.insync.replicas={min_insync_set}, needs {wanted} (DSR_REPLICATION_FACTOR)")
    return problems


def _min_insync_of(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """min.insync.replicas in force per topic, the broker's default included (config_filter "all")."""
    if not names:
        return {}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, configs={"min.insync.replicas": None}) for name in names
    ]
    described = admin.describe_configs(resources, config_filter="all").get("topic", {})
    return {name: int(values["min.insync.replicas"]["value"]) for name, values in described.items()}


def _wanted(spec: TopicSpec) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in spec.configs.items())
    return f"{spec.partitions} partition(s), replication {spec.replication}" + (f", {settings}" if settings else "")


def _connect(bootstrap: str, timeout: float, security: KafkaSecurity | None) -> KafkaAdminClient:
    extra = (security or KafkaSecurity()).client_kwargs()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dsr-admin", **extra)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"cannot reach Kafka at {bootstrap} (DSR_KAFKA_BOOTSTRAP): {exc}") from None
            time.sleep(1)
