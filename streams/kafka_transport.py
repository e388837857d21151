"""Kafka plumbing: faust's transport with a shorter fetch long-poll (faust 0.15.3 hard-codes 1.5 s), topic sizes.

aiokafka keeps one fetch in flight per broker and leaves out of it the partitions whose records
are still being processed. With every topic on one broker, a fetch parked on idle partitions for
1.5 s holds back the records this same process has just produced to the others: the worker
idled with work queued (docs/benchmarks.md). A short long-poll removes those stalls.
"""

from __future__ import annotations

import enum
import logging

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger(__name__)
FETCH_MAX_WAIT_MS = 100


class _Verdict(enum.Enum):
    DELIVER = "deliver"
    BEHIND = "behind"  # already delivered since the seek, or below the committed offset: dropped
    STALE = "stale"  # beyond the position, from a batch fetched before the seek: fetched again


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher (aiokafka 0.14, pinned).
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    """faust's consumer, fed only records that follow the fetch position (docs/kafka-offsets.md).

    faust 0.15.3 resumes a partition's stream, then seeks it to the committed offset and resets its read offset
    there, while its fetch loop goes on delivering a batch fetched before the seek. The batch's next record then
    lies beyond the reset read offset: faust counts the offsets in between as done (a "gap", meant for offsets
    the broker skips) and commits past them, though they were never delivered, or were dropped on the way."""

    def __init__(self, *args, **kwargs) -> None:
        self._seeks = 0  # seeks done so far: a batch whose fetch started before a partition's last seek is stale
        self._seeked_at: dict[TP, int] = {}  # acked partitions: the seek that set their position
        self._next: dict[TP, int] = {}  # acked partitions: the next offset since that seek (absent: not seeked)
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self):
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        self._positioned({tp: self._read_offset.get(tp) for tp in self.assignment()})

    async def seek(self, partition, offset: int) -> None:
        await super().seek(partition, offset)
        self._positioned({partition: offset})

    def _positioned(self, offsets) -> None:
        """Partitions just seeked: their next record is at `offsets` (None: not known, whatever comes)."""
        self._seeks += 1
        for tp, offset in offsets.items():
            if self.app.topics.acks_enabled_for(tp.topic):
                self._seeked_at[tp] = self._seeks
                if offset is None:
                    self._next.pop(tp, None)
                else:
                    self._next[tp] = offset

    async def on_partitions_revoked(self, revoked) -> None:
        await super().on_partitions_revoked(revoked)
        # faust clears these before it waits for the agents; its fetch loop and acks write some back meanwhile.
        for book in (self._read_offset, self._gap, self._acked, self._acked_index, self._next, self._seeked_at):
            for tp in revoked:
                book.pop(tp, None)

    async def getmany(self, timeout: float):
        batch, reseeked = self._seeks, set()
        async for tp, message in super().getmany(timeout):
            verdict = self._verdict(tp, message.offset, batch)
            if verdict is _Verdict.DELIVER:
                yield tp, message
            elif verdict is _Verdict.STALE and tp not in reseeked:
                reseeked.add(tp)
                await self._seek_back(tp, message.offset)

    def _verdict(self, tp, offset: int, batch: int) -> _Verdict:
        """What to do with this record of a batch fetched when `batch` seeks were done."""
        expected = self._next.get(tp)
        if expected is None or offset == expected or (offset > expected and self._seeked_at[tp] <= batch):
            # In position; or fetched after the seek, so the offsets in between are the broker's to skip
            # (transaction markers, compaction, retention): faust's gap, rightly.
            if expected is not None:
                # faust's read offset follows ours: its fetch loop may have set it, after the seek, to the
                # record it was delivering when the seek came (then it would drop or gap-ack what follows).
                self._read_offset[tp] = expected - 1 if expected else None
                self._next[tp] = offset + 1
            return _Verdict.DELIVER
        return _Verdict.BEHIND if offset < expected else _Verdict.STALE

    async def _seek_back(self, tp, offset: int) -> None:
        """A record of a batch fetched before the partition's seek, beyond its position: fetch again from there."""
        expected = self._next[tp]
        log.info("offset %d of %s came from before a seek: fetching again from %d", offset, tp, expected)
        try:
            await self.seek_wait({tp: expected})  # in the consumer's thread, as faust's own seeks
        except IllegalStateError:
            return  # no longer ours: a rebalance has begun, its seek positions the partition
        self._positioned({tp: expected})

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        """faust counts the offsets it never received as done (a gap): say so for those not yet committed, they
        will be committed past (those below the committed offset were processed already, whoever did it)."""
        committed = self._committed_offset.get(tp)
        first = offset_from if committed is None else max(offset_from, committed)
        if first < offset_to:
            log.warning("offsets %d..%d of %s skipped: faust counts them as done", first, offset_to - 1, tp)
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
