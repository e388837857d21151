"""Three KRaft nodes on this machine: the pipeline's topics with replication 3 and min.insync.replicas=2,
written with acks=all, survive the loss of one node."""

from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from dsr.client import publish_event
from dsr.devstack.kafka_cluster import KafkaCluster
from dsr.topics_admin import ensure_topics, topic_plan
from streams import topics
from tests.integration.pipeline import EXAMPLES

pytestmark = pytest.mark.integration


def event() -> dict:
    return json.loads((EXAMPLES / "dsr.rights.requested.json").read_text())


def ids_on(bootstrap: str, topic: str, partitions: int) -> set[str]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        return {json.loads(message.value)["id"] for message in consumer}
    finally:
        consumer.close()


def test_three_nodes_replicate_every_topic_and_survive_losing_one(tmp_path):
    with KafkaCluster(tmp_path / "cluster", size=3) as cluster:
        # DSR_REPLICATION_FACTOR=3: every topic on three nodes, acks=all needing two of them.
        created = ensure_topics(cluster.bootstrap, ("crm",), partitions=2, replication=3)
        assert set(created) == set(topic_plan(("crm",)))
        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        try:
            [intake] = admin.describe_topics([topics.INTAKE])
            assert [len(p["replica_nodes"]) for p in intake["partitions"]] == [3, 3]
            configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topics.INTAKE)])
            assert configs["topic"][topics.INTAKE]["min.insync.replicas"]["value"] == "2"
        finally:
            admin.close()
        # The website's producer (dsr.client, acks=all) while all three are up, then with node 2 killed.
        before = publish_event(cluster.bootstrap, event(), fresh=True)
        cluster.node(2).kill()
        started = time.monotonic()
        after = publish_event(cluster.bootstrap, event(), fresh=True)
        print(f"acks=all write with one node of three killed: {time.monotonic() - started:.1f} s")
        assert {before, after} <= ids_on(cluster.bootstrap, topics.INTAKE, partitions=2)
