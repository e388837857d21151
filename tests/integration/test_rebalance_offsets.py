"""Rebalances mid-stream (a worker joins, leaves, dies, returns) never commit an offset no worker processed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from dsr.devstack.kafka import EmbeddedKafka, free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4
RECORDS = 6000
RATE = 200  # records per second: the stream lasts about 30 s, across every rebalance below
GAP_ACKED = "skipped: faust counts them as done"


class Worker:
    def __init__(self, name: str, env: dict[str, str], out: Path, logs: Path) -> None:
        self.name, self.env, self.out, self.logs = name, env, out, logs
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = open(self.logs / f"{self.name}-{self.runs}.log", "wb")  # noqa: SIM115
        env = {**self.env, "OFFSETS_OUT": str(self.out), "OFFSETS_DATA_DIR": str(self.logs / f"{self.name}-data")}
        command = [sys.executable, "-m", "tests.integration.offsets_worker"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def produce(bootstrap: str, topic: str, done: threading.Event) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for i in range(RECORDS):
            producer.send(topic, key=f"key-{i % 97}".encode(), value=str(i).encode())
            time.sleep(1 / RATE)
        producer.flush(30)
    finally:
        producer.close(10)
        done.set()


def processed(out: Path) -> dict[int, set[int]]:
    seen: dict[int, set[int]] = defaultdict(set)
    for line in out.read_text().splitlines():
        partition, offset = line.split()[:2]
        seen[int(partition)].add(int(offset))
    return seen


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        offsets = {p: consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        consumer.close()
    return {p: -1 if offset is None else offset for p, offset in offsets.items()}


def wait_caught_up(bootstrap: str, group: str, topic: str, ends: dict[int, int], timeout: float) -> dict[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = committed(bootstrap, group, topic)
        if all(now.get(p, -1) >= end for p, end in ends.items()):
            return now
        time.sleep(1)
    return committed(bootstrap, group, topic)


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        consumer.close()
    return {tp.partition: offset for tp, offset in ends.items()}


def rebalance_mid_stream(a: Worker, b: Worker) -> None:
    """Every kind of rebalance the pipeline meets, while records flow."""
    a.start()
    time.sleep(8)
    b.start()  # b joins: every partition is revoked, half come back to a
    time.sleep(8)
    b.stop()  # b leaves gracefully: its partitions go back to a, which had them before
    time.sleep(5)
    b.start()
    time.sleep(8)
    a.stop(signal.SIGKILL)  # a dies: b takes a's partitions once the session times out
    time.sleep(10)
    a.start()  # a comes back to partitions b worked on meanwhile


def test_rebalances_commit_only_processed_offsets(tmp_path: Path) -> None:
    broker = EmbeddedKafka(tmp_path / "kafka", port=free_port()).start()
    topic, group = f"offsets-{uuid.uuid4().hex[:8]}", f"offsets-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "processed.txt"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OFFSETS_BOOTSTRAP": broker.bootstrap}
    env |= {"OFFSETS_TOPIC": topic, "OFFSETS_GROUP": group, "OFFSETS_PARTITIONS": str(PARTITIONS)}
    a, b = Worker("a", env, out, tmp_path), Worker("b", env, out, tmp_path)
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        admin.close()
        done = threading.Event()
        threading.Thread(target=produce, args=(broker.bootstrap, topic, done), daemon=True).start()
        rebalance_mid_stream(a, b)
        assert done.wait(120), "the producer did not finish"
        ends = end_offsets(broker.bootstrap, topic)
        final = wait_caught_up(broker.bootstrap, group, topic, ends, timeout=120)
    finally:
        a.stop()
        b.stop()
        broker.stop()
    seen = processed(out)
    gaps = [line for f in tmp_path.glob("*.log") for line in f.read_text().splitlines() if GAP_ACKED in line]
    repeated = len(out.read_text().splitlines()) - RECORDS  # at least once: a rebalance repeats some
    print(f"\ncommitted {final} of {ends}; processed again: {repeated}; gap-acked ranges logged: {len(gaps)}")
    assert final == ends, "the workers did not catch up"
    missing = {p: sorted(set(range(end)) - seen[p]) for p, end in final.items()}
    missing = {p: offsets for p, offsets in missing.items() if offsets}
    assert not missing, f"committed past offsets no worker processed: { {p: o[:20] for p, o in missing.items()} }"
    assert not gaps, f"offsets counted as done though the broker skipped none: {gaps[:5]}"
