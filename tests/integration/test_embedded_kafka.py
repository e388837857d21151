"""The embedded Kafka broker starts, serves a round trip, and keeps its data across a restart."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from dsr.devstack.kafka import EmbeddedKafka, free_port

pytestmark = pytest.mark.integration

PAYLOAD = b"embedded-kafka-probe"


def produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
    try:
        producer.send(topic, key=b"probe", value=value).get(timeout=30)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[bytes]:
    """Read the topic's only partition from the beginning until `expected` records arrived."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
        return values
    finally:
        consumer.close()


def test_round_trip_and_restart_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    port = free_port()
    topic = f"devstack-restart-{uuid.uuid4().hex[:8]}"

    with EmbeddedKafka(data_dir, port=port) as broker:
        assert broker.is_running()
        assert broker.bootstrap == f"127.0.0.1:{port}"
        produce(broker.bootstrap, topic, PAYLOAD)
        assert read_all(broker.bootstrap, topic, expected=1) == [PAYLOAD]
    assert not broker.is_running()

    # A fresh instance on the same data_dir (and a new controller port) finds everything again.
    with EmbeddedKafka(data_dir, port=port) as again:
        assert again.cluster_id() == broker.cluster_id()
        assert read_all(again.bootstrap, topic, expected=1) == [PAYLOAD]
        produce(again.bootstrap, topic, b"after-restart")
        assert read_all(again.bootstrap, topic, expected=2) == [PAYLOAD, b"after-restart"]
    assert not again.is_running()
