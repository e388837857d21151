"""The ceiling: a raw aiokafka loop on the same broker, in one Python process, no pipeline code.

    producer --> topic A --> consumer that produces each message to topic B --> consumer of B

Two measurements:
  * saturated: N messages (~1 KB JSON values) produced as fast as aiokafka takes them; messages/s end
    to end (first send -> last arrival on B) and the latency of each message (its send -> its arrival
    on B), which under saturation is mostly queueing;
  * unloaded: one message at a time through the same loop, the latency floor of two hops.

Producers use acks=all, like the pipeline's (faust producer_acks=-1).

    python -m bench.ceiling --bootstrap 127.0.0.1:9092 [--messages 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from handlers.kafka_security import KafkaSecurity

HOST_ONLY = "127.0.0.1"


@dataclass
class CeilingResult:
    messages: int
    received: int
    value_bytes: int
    seconds: float
    messages_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    unloaded_messages: int
    unloaded_p50_ms: float
    unloaded_p99_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _value(seq: int, size: int) -> bytes:
    body = {"seq": seq, "t": time.time(), "kind": "bench.ceiling", "pad": ""}
    pad = max(0, size - len(json.dumps(body)))
    body["pad"] = "x" * pad
    return json.dumps(body).encode()


def _check_local(bootstrap: str) -> None:
    for host_port in bootstrap.split(","):
        if host_port.rsplit(":", 1)[0] != HOST_ONLY:
            raise SystemExit(f"the benchmark only talks to {HOST_ONLY}, not {host_port}")


async def _create_topics(bootstrap: str, names: list[str], security: dict) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1) for name in names])
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, names: list[str], security: dict) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    await admin.start()
    try:
        await admin.delete_topics(names)
    except Exception:  # noqa: BLE001 - best effort; the broker is thrown away after the run anyway
        pass
    finally:
        await admin.close()


async def _relay(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, topic_b: str, stop: asyncio.Event) -> None:
    """Consume A, produce every message to B (no waiting per message, like a streaming agent)."""
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100, max_records=1000)
        for records in batches.values():
            for record in records:
                await producer.send(topic_b, record.value, key=record.key)


async def _sink(consumer: AIOKafkaConsumer, expected: int, latencies: list[float], deadline: float) -> None:
    while len(latencies) < expected and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=100, max_records=1000)
        now = time.time()
        for records in batches.values():
            for record in records:
                latencies.append(now - json.loads(record.value)["t"])


class _Loop:
    """The clients of one ceiling run: a producer to A, the relay A -> B, the sink on B."""

    def __init__(self, bootstrap: str, secured: dict, run: str) -> None:
        self.topic_a, self.topic_b = f"bench.ceiling.{run}.a", f"bench.ceiling.{run}.b"
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", client_id="bench-ceiling-producer", **secured
        )
        self.relay_producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", client_id="bench-ceiling-relay", **secured
        )
        self.relay_consumer = self._consumer(bootstrap, secured, self.topic_a, f"bench-ceiling-relay-{run}")
        self.sink = self._consumer(bootstrap, secured, self.topic_b, f"bench-ceiling-sink-{run}")
        self.clients = [self.producer, self.relay_producer, self.relay_consumer, self.sink]
        self.stop = asyncio.Event()
        self.relay_task: asyncio.Task | None = None

    @staticmethod
    def _consumer(bootstrap: str, secured: dict, topic: str, group: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, **secured, group_id=group, auto_offset_reset="earliest", client_id=group
        )

    async def start(self) -> None:
        for client in self.clients:
            await client.start()
        self.relay_task = asyncio.create_task(_relay(self.relay_consumer, self.relay_producer, self.topic_b, self.stop))

    async def close(self) -> None:
        self.stop.set()
        if self.relay_task is not None:
            self.relay_task.cancel()
            await asyncio.gather(self.relay_task, return_exceptions=True)
        for client in reversed(self.clients):
            try:
                await client.stop()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass

    async def unloaded(self, count: int, value_bytes: int, deadline: float) -> list[float]:
        """One message in flight at a time (also warms up the group assignments)."""
        floor: list[float] = []
        for seq in range(count):
            await self.producer.send_and_wait(self.topic_a, _value(-1 - seq, value_bytes))
            before = len(floor)
            while len(floor) == before and time.monotonic() < deadline:
                await _sink(self.sink, before + 1, floor, deadline)
        return floor

    async def saturated(self, messages: int, value_bytes: int, deadline: float) -> tuple[list[float], float]:
        """Everything at once: the latencies, and the seconds from the first send to the last arrival."""
        latencies: list[float] = []
        started = time.monotonic()
        sink_task = asyncio.create_task(_sink(self.sink, messages, latencies, deadline))
        for seq in range(messages):
            await self.producer.send(self.topic_a, _value(seq, value_bytes))
        await self.producer.flush()
        await sink_task
        return latencies, time.monotonic() - started


async def run_ceiling(
    bootstrap: str,
    messages: int = 20_000,
    value_bytes: int = 1024,
    unloaded: int = 200,
    timeout: float = 120.0,
    progress=print,
    security: KafkaSecurity | None = None,
) -> CeilingResult:
    """Run the loop on fresh topics of the broker at `bootstrap`; bounded by `timeout` seconds. `security`:
    the pipeline's DSR_KAFKA_* settings, so that the ceiling is measured as the workers would connect."""
    _check_local(bootstrap)
    secured = (security or KafkaSecurity()).client_kwargs()
    loop = _Loop(bootstrap, secured, uuid.uuid4().hex[:8])
    await _create_topics(bootstrap, [loop.topic_a, loop.topic_b], secured)
    try:
        await loop.start()
        deadline = time.monotonic() + timeout
        floor = await loop.unloaded(unloaded, value_bytes, deadline)
        progress(
            f"  ceiling unloaded: {len(floor)} messages one at a time, "
            f"p50 {percentile(floor, 50) * 1000:.1f} ms, p99 {percentile(floor, 99) * 1000:.1f} ms"
        )
        latencies, seconds = await loop.saturated(messages, value_bytes, deadline)
        result = _result(messages, value_bytes, latencies, seconds, floor)
        progress(
            f"  ceiling saturated: {result.received}/{messages} messages in {seconds:.1f} s = "
            f"{result.messages_per_s:,.0f} msg/s end to end, p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms"
        )
        return result
    finally:
        await loop.close()
        await _delete_topics(bootstrap, [loop.topic_a, loop.topic_b], secured)


def _result(messages: int, value_bytes: int, latencies: list[float], seconds: float, floor: list[float]):
    return CeilingResult(
        messages=messages,
        received=len(latencies),
        value_bytes=len(_value(0, value_bytes)),
        seconds=seconds,
        messages_per_s=len(latencies) / seconds if seconds else 0.0,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies, default=float("nan")) * 1000,
        unloaded_messages=len(floor),
        unloaded_p50_ms=percentile(floor, 50) * 1000,
        unloaded_p99_ms=percentile(floor, 99) * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True, help="host:port of a broker on 127.0.0.1")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    security = KafkaSecurity.from_env()  # DSR_KAFKA_SECURITY_PROTOCOL, ... as for the workers
    result = asyncio.run(
        run_ceiling(args.bootstrap, args.messages, args.value_bytes, timeout=args.timeout, security=security)
    )
    print(json.dumps(result.as_dict(), indent=2))


if __name__ == "__main__":
    main()
