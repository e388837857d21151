"""One phase of the benchmark: erasure requests at one offered rate, followed to their outcome e-mails."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from bench.ceiling import percentile
from bench.measure import KafkaWatch, Sampler, Window, wait_drained
from bench.people import Case, Tracker, outcome_kind

INTAKE = "dsr.intake"


def say(text: str = "") -> None:
    print(text, flush=True)


def nan_if_empty(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


def ms(seconds: float) -> float:
    return seconds * 1000


@dataclass
class PhaseResult:
    rate: float
    cases: int
    workers: int = 1
    submitted: int = 0
    submit_seconds: float = 0.0
    completed: int = 0
    wall_seconds: float = math.nan
    achieved: float = 0.0
    p50: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    to_verification_p50: float = math.nan
    to_verification_p99: float = math.nan
    click_p50: float = math.nan
    click_p99: float = math.nan
    click_to_outcome_p50: float = math.nan
    click_to_outcome_p99: float = math.nan
    incomplete: int = 0
    no_verification: int = 0
    click_failed: int = 0
    timed_out: bool = False
    timeout_seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    window: Window | None = None
    max_lag: dict[str, int] = field(default_factory=dict)
    kafka_messages: int = 0
    kafka_by_topic: dict[str, int] = field(default_factory=dict)
    drain_seconds: float = math.nan
    drained: bool = True
    late_outcomes: int = 0  # completed after the phase timeout, while people still clicked
    finish_seconds: float = 0.0
    sustained: float = math.nan  # all completed cases / (first submission -> last outcome, timeout or not)

    @property
    def cpu_ms_per_case(self) -> float:
        """CPU of every worker over the phase per completed case; NaN when cases were left unfinished."""
        w = self.window
        if not w or not self.completed or self.incomplete or math.isnan(w.workers_cpu):
            return math.nan
        return w.workers_cpu / 100 * w.seconds / self.completed * 1000

    @property
    def messages_per_case(self) -> float:
        return self.kafka_messages / self.submitted if self.submitted else math.nan

    @property
    def dead_letters(self) -> dict[str, int]:
        """Messages written to dead-letter topics during the phase: any one fails the phase."""
        return {t: n for t, n in sorted(self.kafka_by_topic.items()) if t.endswith(".dlq") and n}


@dataclass
class Load:
    """What a phase drives and watches: the website's producer, the people, Kafka, the processes."""

    producer: AIOKafkaProducer
    tracker: Tracker
    watch: KafkaWatch
    sampler: Sampler


@dataclass
class Bounds:
    grace: float  # phase timeout = submission time + grace
    finish_timeout: float  # then people keep confirming this long
    drain_timeout: float  # then the backlog gets this long to drain


async def seed(cases: list[Case], load: Load, timeout: float) -> dict:
    """Untimed: one quote request per person (CRM + newsletter hold data), then wait for the pipeline to settle."""
    values = [case.prepare_quote() for case in cases]
    load.tracker.add(cases)
    started = time.monotonic()
    for value in values:
        await load.producer.send(INTAKE, value)
    await load.producer.flush()
    deadline = started + timeout
    next_report = started + 2
    while load.tracker.counts["ack"] < len(cases) and time.monotonic() < deadline:
        await _changed(load.tracker, 0.5)
        if time.monotonic() >= next_report:
            next_report += 2
            acks = load.tracker.counts["ack"]
            say(f"  seeding: {acks}/{len(cases)} quote acknowledgements ({time.monotonic() - started:.0f} s)")
    acked = sum(1 for c in cases if not math.isnan(c.t_ack))
    acked_seconds = time.monotonic() - started
    drained, _ = await wait_drained(load.watch, max(10.0, deadline - time.monotonic()))
    return {
        "quotes": len(cases),
        "acknowledged": acked,
        "seconds": acked_seconds,
        "per_s": acked / acked_seconds if acked_seconds else 0.0,
        "drained": drained,
        "settled_seconds": time.monotonic() - started,
    }


async def _changed(tracker: Tracker, timeout: float) -> None:
    tracker.changed.clear()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(tracker.changed.wait(), timeout)


class Phase:
    """Submit at the offered rate, follow every case until the timeout, let late ones finish, drain, count."""

    def __init__(self, rate: float, cases: list[Case], load: Load, bounds: Bounds, workers: int) -> None:
        self.rate, self.cases, self.load, self.bounds = rate, cases, load, bounds
        self.result = PhaseResult(rate=rate, cases=len(cases), workers=workers)
        self.result.timeout_seconds = len(cases) / rate + bounds.grace
        self.loop = asyncio.get_running_loop()
        self.started = math.nan

    async def run(self) -> PhaseResult:
        for case in self.cases:
            case.prepare_request()
            case.clickable = True
        self.load.tracker.add(self.cases)
        offsets_before = await self.load.watch.end_offsets()
        self.load.sampler.pending = self._pipeline_has_work
        self.load.sampler.start()
        self.started = self.loop.time()
        submitter = asyncio.create_task(self._submit())
        try:
            await self._follow(self.started + self.result.timeout_seconds)
        finally:
            submitter.cancel()
            await asyncio.gather(submitter, return_exceptions=True)
        self.result.window = await self.load.sampler.stop()
        self.load.sampler.pending = lambda: False
        self._measure_within_timeout()
        await self._finish()
        self.result.drained, self.result.drain_seconds = await wait_drained(self.load.watch, self.bounds.drain_timeout)
        await self._count_messages(offsets_before)
        return self.result

    def _pipeline_has_work(self) -> bool:
        """Some case waits on the pipeline (not on the benchmark's click)."""
        return any(
            not math.isnan(c.t_submit)
            and not c.complete
            and (math.isnan(c.t_verification) or not math.isnan(c.t_click_end))
            for c in self.cases
        )

    async def _submit(self) -> None:
        for i, case in enumerate(self.cases):
            delay = self.started + i / self.rate - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            case.t_submit = time.time()
            future = await self.load.producer.send(INTAKE, case.value)
            future.add_done_callback(lambda f, c=case: _published(c, f))
            self.result.submitted += 1
        self.result.submit_seconds = self.loop.time() - self.started

    async def _follow(self, deadline: float) -> None:
        next_report = self.started
        while self.loop.time() < deadline and not all(c.complete for c in self.cases):
            if self.loop.time() >= next_report:
                next_report += 2.0
                await self._report_progress()
            await _changed(self.load.tracker, 0.25)
        self.result.timed_out = self.loop.time() >= deadline

    async def _report_progress(self) -> None:
        try:
            lag = await self.load.watch.lag()
        except Exception:  # noqa: BLE001 - e.g. a coordinator moving; ask again next time
            lag = {}
        for topic, value in lag.items():
            self.result.max_lag[topic] = max(self.result.max_lag.get(topic, 0), value)
        busy = ", ".join(f"{t.removeprefix('dsr.')}={v}" for t, v in sorted(lag.items()) if v)
        s, c = self.load.sampler, self.cases
        say(
            f"  [{self.result.workers}w {self.rate:>4g}/s] {self.loop.time() - self.started:5.1f} s  "
            f"submitted {self.result.submitted:>4}/{len(c)}"
            f"  verif {sum(1 for x in c if not math.isnan(x.t_verification)):>4}"
            f"  clicked {sum(1 for x in c if x.click_status is not None):>4}"
            f"  outcomes {sum(1 for x in c if x.complete):>4}"
            f" | workers {s.recent_workers_cpu:3.0f}% cpu, kafka {s.recent_cpu.get('kafka', math.nan):3.0f}%,"
            f" bench {s.recent_cpu.get('bench', math.nan):3.0f}%, machine {s.recent_machine:3.0f}%"
            f" | lag {busy or '0'}"
        )

    def _measure_within_timeout(self) -> None:
        r, cases = self.result, self.cases
        completed = [c for c in cases if c.complete]
        r.completed, r.incomplete = len(completed), len(cases) - len(completed)
        r.no_verification = sum(1 for c in cases if math.isnan(c.t_verification))
        r.click_failed = sum(1 for c in cases if c.click_status not in (None, 200))
        submitted = [c for c in cases if not math.isnan(c.t_submit)]
        for case in completed:
            kind = outcome_kind(case)  # parsed after the timed part
            r.outcomes[kind] = r.outcomes.get(kind, 0) + 1
        if completed and submitted:
            r.wall_seconds = max(c.t_outcome for c in completed) - min(c.t_submit for c in submitted)
            r.achieved = len(completed) / r.wall_seconds if r.wall_seconds > 0 else math.nan
            _latencies(r, cases, completed)

    async def _finish(self) -> None:
        """After the timeout people still follow their links: capacity without the cut-off (bounded)."""
        r, cases = self.result, self.cases
        finish_started = next_report = self.loop.time()
        while self.loop.time() - finish_started < self.bounds.finish_timeout and not all(c.complete for c in cases):
            await _changed(self.load.tracker, 0.25)
            if self.loop.time() >= next_report + 2:
                next_report = self.loop.time()
                done = sum(1 for c in cases if c.complete)
                say(f"  [{r.workers}w {self.rate:>4g}/s] after the timeout: {done}/{len(cases)} complete")
        for case in cases:
            case.clickable = False  # from now on nobody follows links
        r.finish_seconds = self.loop.time() - finish_started
        finished = [c for c in cases if c.complete]
        submitted = [c for c in cases if not math.isnan(c.t_submit)]
        r.late_outcomes = len(finished) - r.completed
        if finished and submitted:
            span = max(c.t_outcome for c in finished) - min(c.t_submit for c in submitted)
            r.sustained = len(finished) / span if span > 0 else math.nan

    async def _count_messages(self, before: dict[str, int]) -> None:
        after = await self.load.watch.end_offsets()
        moved = {t: after[t] - before.get(t, 0) for t in after}
        self.result.kafka_by_topic = {t: n for t, n in moved.items() if n}
        self.result.kafka_messages = sum(self.result.kafka_by_topic.values())


def _published(case: Case, future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is None:
        case.t_published = time.time()


def _latencies(r: PhaseResult, cases: list[Case], completed: list[Case]) -> None:
    latencies = [c.t_outcome - c.t_submit for c in completed]
    r.p50, r.p99, r.max = ms(percentile(latencies, 50)), ms(percentile(latencies, 99)), ms(max(latencies))
    verification = [c.t_verification - c.t_submit for c in cases if not math.isnan(c.t_verification)]
    clicks = [c.t_click_end - c.t_click_start for c in cases if not math.isnan(c.t_click_end)]
    after_click = [c.t_outcome - c.t_click_end for c in completed if not math.isnan(c.t_click_end)]
    r.to_verification_p50 = ms(nan_if_empty(verification, 50))
    r.to_verification_p99 = ms(nan_if_empty(verification, 99))
    r.click_p50, r.click_p99 = ms(nan_if_empty(clicks, 50)), ms(nan_if_empty(clicks, 99))
    r.click_to_outcome_p50 = ms(nan_if_empty(after_click, 50))
    r.click_to_outcome_p99 = ms(nan_if_empty(after_click, 99))
