"""Prometheus metrics: faust's sensors and the domain's counts and durations, never personal data or case ids."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gdpr.case_state import OPEN, CaseState
from gdpr.deadlines import end_of_day
from gdpr.identity import internal_target
from gdpr.lifecycle import Status

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
REFRESH_SECONDS = 15.0  # scrapes in between reuse the last counts: walking every case has a cost
AWAITING_DPO = frozenset({Status.AWAITING_DECISION})
AWAITING_PERSON = frozenset({Status.AWAITING_VERIFICATION})  # a confirmation, a code or an ID document

# The number of messages in one topic (all partitions), or None if it does not exist.
TopicSizes = Callable[[list[str]], Awaitable[Mapping[str, int]]]


class PipelineMetrics:
    """One registry per worker: the domain's metrics, faust's sensors, and collectors read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.emails_sent = Counter(
            "dsr_emails_sent",
            "E-mails accepted by the SMTP server, by message type",
            ["message_type"],
            registry=self.registry,
        )
        self.emails_parked = Counter(
            "dsr_emails_parked",
            "E-mails parked for the DPO after their retries",
            ["message_type"],
            registry=self.registry,
        )
        self.emails_deferred = Counter(
            "dsr_emails_deferred",
            "Transient SMTP failures, each followed by a later retry, by message type",
            ["message_type"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "dsr_dead_letters", "Messages this worker sent to a dead-letter topic", ["topic"], registry=self.registry
        )
        self.task_latency = Histogram(
            "dsr_task_latency_seconds",
            "From a task's issue to its answer reaching the case",
            ["system", "action"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.clock_examined = Counter(
            "dsr_clock_cases_examined", "Cases the clock read to find what is due", registry=self.registry
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def faust_monitor(self) -> PrometheusMonitor:
        """faust's own sensors (messages, events, commits, rebalances, offsets) on this registry."""
        return PrometheusMonitor(metrics=FaustMetrics.create(self.registry, "faust"))

    def collect_from(self, collector: Collector, refresh: Callable[[], Awaitable[None]] | None = None) -> None:
        self.registry.register(collector)
        if refresh is not None:
            self._refreshers.append(refresh)

    async def exposition(self) -> tuple[bytes, str]:
        for refresh in self._refreshers:
            await refresh()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class CaseGauges(Collector):
    """Open cases by right and status; past the internal target (R9), past D1, awaiting the DPO or the person.
    Counts over the cases this worker holds (its partitions): sum them over workers."""

    def __init__(self, states: Callable[[], Iterable[CaseState]], clock: Callable[[], datetime]) -> None:
        self._states, self._clock = states, clock
        self._counted_at = -REFRESH_SECONDS
        self._counts: dict[str, Tally] = {}

    def collect(self):
        if time.monotonic() - self._counted_at >= REFRESH_SECONDS:
            self._counts = count_cases(self._states(), self._clock())
            self._counted_at = time.monotonic()
        open_cases = GaugeMetricFamily("dsr_open_cases", "Open cases by right and status", labels=["right", "status"])
        for (right, status), n in sorted(self._counts["open"].items()):
            open_cases.add_metric([right, status], n)
        yield open_cases
        for name, text in (
            ("past_target", "past their internal target (R9)"),
            ("past_deadline", "past D1 or D3"),
            ("awaiting_dpo", "awaiting a DPO decision"),
            ("awaiting_person", "awaiting the person"),
        ):
            yield GaugeMetricFamily(f"dsr_cases_{name}", f"Open cases {text}", value=self._counts["flags"][name])


def count_cases(states: Iterable[CaseState], now: datetime) -> dict[str, Tally]:
    counts = {"open": Tally(), "flags": Tally(past_target=0, past_deadline=0, awaiting_dpo=0, awaiting_person=0)}
    for state in states:
        if state.status not in OPEN:
            continue
        counts["open"][(state.right.value, state.status.value)] += 1
        counts["flags"]["past_target"] += now.date() > internal_target(state)
        counts["flags"]["past_deadline"] += now > end_of_day(state.deadline)
        counts["flags"]["awaiting_dpo"] += state.status in AWAITING_DPO
        counts["flags"]["awaiting_person"] += state.status in AWAITING_PERSON
    return counts


class DeadLetterGauges(Collector):
    """Messages held in each dead-letter topic, read from the broker's offsets (every worker's and system's)."""

    def __init__(self, topics: list[str], sizes: TopicSizes) -> None:
        self._topics, self._sizes = topics, sizes
        self._counted_at = -REFRESH_SECONDS
        self._counts: Mapping[str, int] = {}

    async def refresh(self) -> None:
        if time.monotonic() - self._counted_at < REFRESH_SECONDS:
            return
        self._counted_at = time.monotonic()
        try:
            async with asyncio.timeout(5):
                self._counts = await self._sizes(self._topics)
        except Exception as exc:  # noqa: BLE001 - metrics must never fail a scrape
            log.warning("dead-letter sizes unavailable: %s", type(exc).__name__)

    def collect(self):
        family = GaugeMetricFamily("dsr_dead_letter_messages", "Messages in each dead-letter topic", labels=["topic"])
        for topic in self._topics:
            family.add_metric([topic], self._counts.get(topic, 0))
        yield family


class ConsumerLag(Collector):
    """Per assigned partition: the broker's end offset minus this worker's committed offset (faust's monitor)."""

    def __init__(self, monitor: PrometheusMonitor) -> None:
        self._monitor = monitor

    def collect(self):
        family = GaugeMetricFamily(
            "dsr_consumer_lag", "Messages not yet processed, per partition", labels=["topic", "partition"]
        )
        ends, committed = self._monitor.tp_end_offsets, self._monitor.tp_committed_offsets
        for tp, end in sorted(ends.items()):
            family.add_metric([tp.topic, str(tp.partition)], max(0, end - committed.get(tp, 0)))
        yield family
