"""Kafka plumbing: faust's transport with a shorter fetch long-poll (faust 0.15.3 hard-codes 1.5 s), topic sizes.

aiokafka keeps one fetch in flight per broker and leaves out of it the partitions whose records
are still being processed. With every topic on one broker, a fetch parked on idle partitions for
1.5 s holds back the records this same process has just produced to the others: the worker
idled with work queued (docs/benchmarks.md). A short long-poll removes those stalls.
"""

from __future__ import annotations

import logging

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger(__name__)
FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher (aiokafka 0.14, pinned).
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self):
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        """faust counts the offsets it never received as done (a gap): say so, they will be committed past."""
        log.warning("offsets %d..%d of %s skipped: faust counts them as done", offset_from, offset_to - 1, tp)
        await super()._add_gap(tp, offset_from, offset_to)


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class PipelineApp(faust.App):
    """The faust app on the transport above."""

    def _new_transport(self):
        return Transport(self.conf.broker_consumer, self)


class TopicSizes:
    """Messages held per topic (all partitions), from the broker's first and last offsets. A client of its own,
    opened for each count and closed after: counts are rare (a scrape at most every 15 s) and must not hold a
    connection or a group membership between them."""

    def __init__(self, bootstrap: str, **client_options) -> None:
        self.bootstrap = bootstrap
        self.client_options = client_options

    async def __call__(self, names: list[str]) -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self.client_options)
        await consumer.start()
        try:
            existing = await consumer.topics()
            partitions = [
                TopicPartition(t, p) for t in names if t in existing for p in consumer.partitions_for_topic(t) or ()
            ]
            first = await consumer.beginning_offsets(partitions) if partitions else {}
            last = await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()
        sizes = dict.fromkeys(names, 0)
        for tp in partitions:
            sizes[tp.topic] += last[tp] - first[tp]
        return sizes
