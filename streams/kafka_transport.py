"""faust's Kafka transport with a shorter fetch long-poll (faust 0.15.3 hard-codes 1.5 s).

aiokafka keeps one fetch in flight per broker and leaves out of it the partitions whose records
are still being processed. With every topic on one broker, a fetch parked on idle partitions for
1.5 s holds back the records this same process has just produced to the others: the worker
idled with work queued (docs/benchmarks.md). A short long-poll removes those stalls.
"""

from __future__ import annotations

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

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


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class PipelineApp(faust.App):
    """The faust app on the transport above."""

    def _new_transport(self):
        return Transport(self.conf.broker_consumer, self)
