"""The pipeline end to end under increasing offered load, next to the raw Kafka ceiling.

    python -m bench.pipeline            (what `make bench` runs)

On this machine, all on 127.0.0.1: an embedded Kafka broker, a real SMTP server (the dev sink) in
this process, and the worker (`python -m dsr.cli run`) as a subprocess. Then:

1. the ceiling (bench.ceiling): a raw aiokafka produce -> consume/produce -> consume loop;
2. seeding (untimed): one quote request per person of every phase, so every erasure touches data
   in the CRM and the newsletter (turn off with --no-seed: the outcome is then "no data");
3. one phase per offered rate: erasure requests published to `dsr.intake` at that rate; as soon as
   a verification e-mail reaches the SMTP server its link is POSTed (a person confirming); a case
   is complete when its outcome e-mail is accepted by the SMTP server.

Measured per phase: completed cases, achieved cases/s (completed / first submission -> last
outcome), latency submission -> outcome (which includes this benchmark's own click), cases not
complete within the phase timeout (and how many finish if people keep confirming a while longer),
CPU and peak RSS of the worker, of the Kafka JVM and of this process, consumer lag per topic, Kafka
messages per case. Results go to docs/benchmarks.md (between the "measured" markers; text outside
them is kept).

Everything started here is stopped on exit, Ctrl-C, SIGTERM or error. The run is bounded: each
phase has a case cap (--max-cases), a timeout (submission time + --grace), then at most
--finish-timeout s for late cases and --drain-timeout s for the backlog; about 3-5 minutes in all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from bench.ceiling import CeilingResult, percentile, run_ceiling
from dsr.devstack.kafka import KAFKA_VERSION, EmbeddedKafka, free_port
from dsr.devstack.smtp_sink import StoredMessage
from gdpr.lifecycle import stable_id
from schemas.notifications import MessageType
from tests.integration.pipeline import Pipeline, example, link, new_person, rights_request

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"
GROUP = "dsr-pipeline"  # the faust app id is the consumer group
INTAKE = "dsr.intake"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^@>]+)@", re.IGNORECASE | re.MULTILINE)
VERIFY_LINK = re.compile(rb"(http://127\.0\.0\.1:\d+/verify/[A-Za-z0-9_.\-]+)")

log = logging.getLogger("bench")


def say(text: str = "") -> None:
    print(text, flush=True)


def nan_if_empty(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


# --------------------------------------------------------------------------- /proc sampling


def _stat_ticks(path: str) -> int | None:
    """utime + stime of a process or thread, in clock ticks."""
    try:
        with open(path) as handle:
            rest = handle.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return None


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, number = line.split()[:2]
                    values[name.rstrip(":")] = int(number)
    except OSError:
        pass
    return values


def _thread_ticks(pid: int) -> dict[int, tuple[str, int]]:
    threads = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            ticks = _stat_ticks(f"/proc/{pid}/task/{tid}/stat")
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as handle:
                    name = handle.read().strip()
            except OSError:
                name = "?"
            if ticks is not None:
                threads[int(tid)] = (name, ticks)
    return threads


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as handle:
        numbers = [int(n) for n in handle.readline().split()[1:]]
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    total = sum(numbers[:8])
    return total - idle, total


@dataclass
class Window:
    """CPU and memory of the watched processes between start() and stop()."""

    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # percent of one core
    main_thread_cpu: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    hwm_mb: dict[str, float] = field(default_factory=dict)
    machine_busy: float = float("nan")  # percent of all cores
    stalled_seconds: float = 0.0  # worker under 10% CPU while the pipeline had work queued
    cpu_with_work: float = float("nan")  # worker CPU (% of one core) averaged over the time it had work queued
    seconds_with_work: float = 0.0


class Sampler:
    """Samples VmRSS every `interval` seconds (VmHWM at the end) and CPU ticks per window."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.pending = lambda: False  # does the pipeline have work queued (set per phase)?
        self._task: asyncio.Task | None = None
        self._reset()

    def _reset(self) -> None:
        self._t0 = time.monotonic()
        self._ticks = {name: _stat_ticks(f"/proc/{pid}/stat") for name, pid in self.pids.items()}
        self._threads = {name: _thread_ticks(pid) for name, pid in self.pids.items()}
        self._machine = _machine_ticks()
        self._peak = dict.fromkeys(self.pids, 0)
        self._last_cpu = dict(self._ticks)
        self._last_t = self._t0
        self.recent_cpu = {name: float("nan") for name in self.pids}
        self._last_machine = self._machine
        self.recent_machine = float("nan")
        self._stalled = 0.0
        self._with_work = 0.0
        self._with_work_cpu = 0.0  # core-seconds

    def start(self) -> None:
        self._reset()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def sample(self) -> None:
        now = time.monotonic()
        worker_before = self._last_cpu.get("worker")
        for name, pid in self.pids.items():
            rss = _status_kb(pid).get("VmRSS")
            if rss:
                self._peak[name] = max(self._peak[name], rss)
            ticks = _stat_ticks(f"/proc/{pid}/stat")
            last = self._last_cpu.get(name)
            if ticks is not None and last is not None and now > self._last_t:
                self.recent_cpu[name] = 100 * (ticks - last) / CLK_TCK / (now - self._last_t)
            self._last_cpu[name] = ticks
        worker_now = self._last_cpu.get("worker")
        if worker_before is not None and worker_now is not None and now > self._last_t and self.pending():
            used = (worker_now - worker_before) / CLK_TCK
            self._with_work += now - self._last_t
            self._with_work_cpu += used
            if 100 * used / (now - self._last_t) < 10:
                self._stalled += now - self._last_t
        self._last_t = now
        busy, total = _machine_ticks()
        if total > self._last_machine[1]:
            self.recent_machine = 100 * (busy - self._last_machine[0]) / (total - self._last_machine[1])
        self._last_machine = (busy, total)

    def rss_mb(self, name: str) -> float:
        return (_status_kb(self.pids[name]).get("VmRSS") or 0) / 1024

    async def stop(self) -> Window:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.sample()
        seconds = time.monotonic() - self._t0
        window = Window(
            seconds=seconds,
            stalled_seconds=self._stalled,
            seconds_with_work=self._with_work,
            cpu_with_work=100 * self._with_work_cpu / self._with_work if self._with_work else math.nan,
        )
        for name, pid in self.pids.items():
            ticks, before = _stat_ticks(f"/proc/{pid}/stat"), self._ticks.get(name)
            if ticks is not None and before is not None and seconds > 0:
                window.cpu[name] = 100 * (ticks - before) / CLK_TCK / seconds
            main_before = self._threads[name].get(pid)
            main_now = _thread_ticks(pid).get(pid)
            if main_before and main_now and seconds > 0:
                window.main_thread_cpu[name] = 100 * (main_now[1] - main_before[1]) / CLK_TCK / seconds
            window.peak_rss_mb[name] = self._peak[name] / 1024
            window.hwm_mb[name] = (_status_kb(pid).get("VmHWM") or 0) / 1024
        busy, total = _machine_ticks()
        if total > self._machine[1]:
            window.machine_busy = 100 * (busy - self._machine[0]) / (total - self._machine[1])
        return window


# --------------------------------------------------------------------------- Kafka watching


class KafkaWatch:
    """End offsets of the pipeline's topics and the lag of its consumer group (read-only)."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-watch")
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="bench-watch")

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def close(self) -> None:
        for client in (self.consumer, self.admin):
            with contextlib.suppress(Exception):
                await (client.stop() if client is self.consumer else client.close())

    async def end_offsets(self) -> dict[str, int]:
        """Messages ever written per topic of the pipeline (internal and bench topics left out)."""
        names = [t for t in await self.admin.list_topics() if not t.startswith(("__", "bench."))]
        described = await self.admin.describe_topics(names) if names else []
        partitions = [
            TopicPartition(d["topic"], p["partition"])
            for d in described
            if not d.get("error_code")
            for p in d.get("partitions", [])
        ]
        ends = await self.consumer.end_offsets(partitions) if partitions else {}
        totals: dict[str, int] = {}
        for tp, offset in ends.items():
            totals[tp.topic] = totals.get(tp.topic, 0) + offset
        return totals

    async def lag(self) -> dict[str, int]:
        """Per consumed topic: end offset minus the group's committed offset."""
        committed = await self.admin.list_consumer_group_offsets(GROUP)
        committed = {tp: meta.offset for tp, meta in committed.items() if meta is not None and meta.offset >= 0}
        if not committed:
            return {}
        ends = await self.consumer.end_offsets(list(committed))
        lags: dict[str, int] = {}
        for tp, offset in committed.items():
            lags[tp.topic] = lags.get(tp.topic, 0) + max(0, ends.get(tp, offset) - offset)
        return lags


# --------------------------------------------------------------------------- cases and e-mails


@dataclass
class Case:
    index: int
    email: str
    name: str
    event_id: str = ""
    value: bytes = b""
    kinds: dict[str, str] = field(default_factory=dict)  # Message-ID -> receipt | verification | outcome | ack
    clickable: bool = False
    t_submit: float = math.nan  # wall clock, just before the producer got the message
    t_published: float = math.nan  # broker acknowledged (acks=all)
    t_receipt: float = math.nan  # the SMTP server accepted the e-mail (Mailbox received_at)
    t_verification: float = math.nan
    t_click_start: float = math.nan
    t_click_end: float = math.nan
    t_outcome: float = math.nan
    t_ack: float = math.nan  # seeding: the quote's acknowledgement
    click_status: int | None = None
    outcome: StoredMessage | None = None
    other: int = 0  # e-mails to this person that are none of the above

    def prepare_request(self) -> None:
        event = rights_request(self.email, self.name)
        self.event_id = event["id"]
        self.value = json.dumps(event).encode()
        request_id = stable_id("request", self.event_id)
        # The pipeline's e-mail Message-IDs are deterministic (streams/notices.py): which e-mail is which.
        for command, kind in (
            ("email:receipt", "receipt"),
            ("email:verification", "verification"),
            ("email:outcome", "outcome"),
        ):
            self.kinds[stable_id(request_id, command)] = kind

    def prepare_quote(self) -> bytes:
        event = example(
            "dsr.form.quote_requested",
            email=self.email,
            first_name=self.name,
            last_name="Durand",
            marketing_consent={"email": True},
        )
        submission_id = stable_id("submission", event["id"])
        self.kinds[stable_id(submission_id, "email", MessageType.FORM_ACKNOWLEDGEMENT)] = "ack"
        return json.dumps(event).encode()

    @property
    def complete(self) -> bool:
        return not math.isnan(self.t_outcome)


class Tracker:
    """Sees every e-mail once (one Mailbox.async_wait_for whose predicate never matches) and follows
    each verification link at once. Dispatch is by recipient, then by Message-ID."""

    def __init__(self, pipe: Pipeline, session: aiohttp.ClientSession) -> None:
        self.pipe = pipe
        self.session = session
        self.by_rcpt: dict[str, Case] = {}
        self.clicks: set[asyncio.Task] = set()
        self.counts = {
            "receipt": 0,
            "verification": 0,
            "outcome": 0,
            "ack": 0,
            "click": 0,
            "other": 0,
            "unmatched": 0,
            "click_failed": 0,
            "errors": 0,
        }
        self.changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def add(self, cases: list[Case]) -> None:
        for case in cases:
            self.by_rcpt[case.email.lower()] = case

    def start(self) -> None:
        self._task = asyncio.create_task(self.pipe.mailbox.async_wait_for(self._see, timeout=24 * 3600))

    async def stop(self) -> None:
        for task in [self._task, *self.clicks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._task, *self.clicks] if t is not None], return_exceptions=True)

    def _see(self, message: StoredMessage) -> bool:
        try:
            self._dispatch(message)
        except Exception:
            self.counts["errors"] += 1
            log.exception("could not dispatch e-mail %s", message.id)
        self.changed.set()
        return False  # never "found": keep seeing every new e-mail

    def _dispatch(self, message: StoredMessage) -> None:
        case = next((c for r in message.rcpt_tos if (c := self.by_rcpt.get(r.lower()))), None)
        if case is None:
            self.counts["unmatched"] += 1
            return
        found = MESSAGE_ID.search(message.raw[:8192])
        kind = case.kinds.get(found.group(1).decode()) if found else None
        at = message.received_at.timestamp()
        if kind is None:
            case.other += 1
            self.counts["other"] += 1
            return
        self.counts[kind] += 1
        if kind == "receipt":
            case.t_receipt = at
        elif kind == "ack":
            case.t_ack = at
        elif kind == "outcome":
            case.t_outcome, case.outcome = at, message
        elif kind == "verification":
            case.t_verification = at
            if case.clickable:
                task = asyncio.create_task(self._click(case, message))
                self.clicks.add(task)
                task.add_done_callback(self.clicks.discard)

    async def _click(self, case: Case, message: StoredMessage) -> None:
        """The person follows the link: POST confirms (a GET only shows the page)."""
        url = verify_url(message)
        case.t_click_start = time.time()
        try:
            async with self.session.post(url) as response:
                await response.read()
                case.click_status = response.status
        except (TimeoutError, aiohttp.ClientError):
            case.click_status = 0
        case.t_click_end = time.time()
        self.counts["click"] += 1
        if case.click_status != 200:
            self.counts["click_failed"] += 1
        self.changed.set()


def verify_url(message: StoredMessage) -> str:
    """The link from the quoted-printable text part without a full MIME parse (~1.5 ms each)."""
    flat = message.raw.replace(b"=\r\n", b"").replace(b"=\n", b"")
    found = VERIFY_LINK.search(flat)
    return found.group(1).decode() if found else link(message, "verify")


def outcome_kind(case: Case) -> str:
    subject = case.outcome.subject if case.outcome is not None else ""
    if subject.startswith("Effacement partiel"):
        return "partial erasure"
    if subject.startswith("Effacement"):
        return "erasure"
    if "aucune donnée" in subject:
        return "no data"
    return subject[:40] or "?"


# --------------------------------------------------------------------------- phases


@dataclass
class PhaseResult:
    rate: float
    cases: int
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
        """Worker CPU over the phase per completed case; NaN when cases were left unfinished (they used CPU too)."""
        w = self.window
        if not w or not self.completed or self.incomplete or "worker" not in w.cpu:
            return math.nan
        return w.cpu["worker"] / 100 * w.seconds / self.completed * 1000

    @property
    def messages_per_case(self) -> float:
        return self.kafka_messages / self.submitted if self.submitted else math.nan


def ms(seconds: float) -> float:
    return seconds * 1000


async def wait_drained(watch: KafkaWatch, timeout: float, settle: float = 3.5) -> tuple[bool, float]:
    """Until the group's lag is 0 on every topic for `settle` s (faust commits every ~2.8 s)."""
    started = time.monotonic()
    zero_since = None
    while time.monotonic() - started < timeout:
        try:
            total = sum((await watch.lag()).values())
        except Exception:  # noqa: BLE001 - e.g. a coordinator moving; ask again
            total = -1
        now = time.monotonic()
        if total == 0:
            zero_since = zero_since or now
            if now - zero_since >= settle:
                return True, now - started
        else:
            zero_since = None
        await asyncio.sleep(0.5)
    return False, time.monotonic() - started


async def seed(
    cases: list[Case], producer: AIOKafkaProducer, tracker: Tracker, watch: KafkaWatch, timeout: float
) -> dict:
    """Untimed: one quote request per person (CRM + newsletter hold data), then wait for the pipeline to settle."""
    values = [case.prepare_quote() for case in cases]
    tracker.add(cases)
    started = time.monotonic()
    for value in values:
        await producer.send(INTAKE, value)
    await producer.flush()
    deadline = started + timeout
    next_report = started + 2
    while tracker.counts["ack"] < len(cases) and time.monotonic() < deadline:
        tracker.changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(tracker.changed.wait(), 0.5)
        if time.monotonic() >= next_report:
            next_report += 2
            say(
                f"  seeding: {tracker.counts['ack']}/{len(cases)} quote acknowledgements "
                f"({time.monotonic() - started:.0f} s)"
            )
    acked = sum(1 for c in cases if not math.isnan(c.t_ack))
    acked_seconds = time.monotonic() - started
    drained, _ = await wait_drained(watch, max(10.0, deadline - time.monotonic()))
    return {
        "quotes": len(cases),
        "acknowledged": acked,
        "seconds": acked_seconds,
        "per_s": acked / acked_seconds if acked_seconds else 0.0,
        "drained": drained,
        "settled_seconds": time.monotonic() - started,
    }


async def run_phase(
    rate: float,
    cases: list[Case],
    producer: AIOKafkaProducer,
    tracker: Tracker,
    watch: KafkaWatch,
    sampler: Sampler,
    grace: float,
    finish_timeout: float,
    drain_timeout: float,
) -> PhaseResult:
    result = PhaseResult(rate=rate, cases=len(cases))
    for case in cases:
        case.prepare_request()
        case.clickable = True
    tracker.add(cases)
    offsets_before = await watch.end_offsets()
    loop = asyncio.get_running_loop()
    duration = len(cases) / rate
    result.timeout_seconds = duration + grace
    max_lag: dict[str, int] = {}

    def pipeline_has_work() -> bool:
        return any(
            not math.isnan(c.t_submit)
            and not c.complete
            and (math.isnan(c.t_verification) or not math.isnan(c.t_click_end))
            for c in cases
        )

    sampler.pending = pipeline_has_work
    sampler.start()
    started = loop.time()
    deadline = started + result.timeout_seconds

    def published(case: Case, future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            case.t_published = time.time()

    async def submit() -> None:
        for i, case in enumerate(cases):
            delay = started + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            case.t_submit = time.time()
            future = await producer.send(INTAKE, case.value)
            future.add_done_callback(lambda f, c=case: published(c, f))
            result.submitted += 1
        result.submit_seconds = loop.time() - started

    submitter = asyncio.create_task(submit())
    next_report = started
    try:
        while loop.time() < deadline:
            done = sum(1 for c in cases if c.complete)
            if done == len(cases):
                break
            if loop.time() >= next_report:
                next_report += 2.0
                try:
                    lag = await watch.lag()
                except Exception:  # noqa: BLE001
                    lag = {}
                for topic, value in lag.items():
                    max_lag[topic] = max(max_lag.get(topic, 0), value)
                busy = ", ".join(f"{t.removeprefix('dsr.')}={v}" for t, v in sorted(lag.items()) if v)
                say(
                    f"  [{rate:>4g}/s] {loop.time() - started:5.1f} s  submitted {result.submitted:>4}/{len(cases)}"
                    f"  receipts {sum(1 for c in cases if not math.isnan(c.t_receipt)):>4}"
                    f"  verif {sum(1 for c in cases if not math.isnan(c.t_verification)):>4}"
                    f"  clicked {sum(1 for c in cases if c.click_status is not None):>4}"
                    f"  outcomes {done:>4}"
                    f" | worker {sampler.recent_cpu.get('worker', math.nan):3.0f}% cpu"
                    f" {sampler.rss_mb('worker'):4.0f} MB, kafka {sampler.recent_cpu.get('kafka', math.nan):3.0f}%,"
                    f" bench {sampler.recent_cpu.get('bench', math.nan):3.0f}%, machine {sampler.recent_machine:3.0f}%"
                    f" | lag {busy or '0'}"
                )
            tracker.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(tracker.changed.wait(), 0.25)
    finally:
        if not submitter.done():
            submitter.cancel()
        await asyncio.gather(submitter, return_exceptions=True)
    result.window = await sampler.stop()
    sampler.pending = lambda: False
    result.timed_out = loop.time() >= deadline
    result.max_lag = max_lag
    completed = [c for c in cases if c.complete]
    result.completed = len(completed)
    result.incomplete = len(cases) - len(completed)
    result.no_verification = sum(1 for c in cases if math.isnan(c.t_verification))
    result.click_failed = sum(1 for c in cases if c.click_status not in (None, 200))
    submitted = [c for c in cases if not math.isnan(c.t_submit)]
    if completed and submitted:
        first = min(c.t_submit for c in submitted)
        result.wall_seconds = max(c.t_outcome for c in completed) - first
        result.achieved = len(completed) / result.wall_seconds if result.wall_seconds > 0 else math.nan
        latencies = [c.t_outcome - c.t_submit for c in completed]
        result.p50, result.p99, result.max = (
            ms(percentile(latencies, 50)),
            ms(percentile(latencies, 99)),
            ms(max(latencies)),
        )
        verification = [c.t_verification - c.t_submit for c in cases if not math.isnan(c.t_verification)]
        clicks = [c.t_click_end - c.t_click_start for c in cases if not math.isnan(c.t_click_end)]
        after_click = [c.t_outcome - c.t_click_end for c in completed if not math.isnan(c.t_click_end)]
        result.to_verification_p50 = ms(nan_if_empty(verification, 50))
        result.to_verification_p99 = ms(nan_if_empty(verification, 99))
        result.click_p50, result.click_p99 = ms(nan_if_empty(clicks, 50)), ms(nan_if_empty(clicks, 99))
        result.click_to_outcome_p50 = ms(nan_if_empty(after_click, 50))
        result.click_to_outcome_p99 = ms(nan_if_empty(after_click, 99))
    for case in completed:
        kind = outcome_kind(case)  # parsed after the timed part
        result.outcomes[kind] = result.outcomes.get(kind, 0) + 1
    # After the timeout, people still follow their links: how long until every case is done (capacity
    # without the cut-off), bounded by finish_timeout.
    finish_started = loop.time()
    next_report = finish_started + 2
    while loop.time() - finish_started < finish_timeout and not all(c.complete for c in cases):
        tracker.changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(tracker.changed.wait(), 0.25)
        if loop.time() >= next_report:
            next_report += 2
            say(f"  [{rate:>4g}/s] after the timeout: {sum(1 for c in cases if c.complete)}/{len(cases)} complete")
    for case in cases:
        case.clickable = False  # from now on nobody follows links
    result.finish_seconds = loop.time() - finish_started
    finished = [c for c in cases if c.complete]
    result.late_outcomes = len(finished) - result.completed
    if finished and submitted:
        span = max(c.t_outcome for c in finished) - min(c.t_submit for c in submitted)
        result.sustained = len(finished) / span if span > 0 else math.nan
    # Let the rest drain (cases left unconfirmed still get their receipt, lookups and verification e-mail).
    result.drained, result.drain_seconds = await wait_drained(watch, drain_timeout)
    offsets_after = await watch.end_offsets()
    result.kafka_by_topic = {
        t: offsets_after[t] - offsets_before.get(t, 0)
        for t in offsets_after
        if offsets_after[t] - offsets_before.get(t, 0)
    }
    result.kafka_messages = sum(result.kafka_by_topic.values())
    return result


def _f(value: float, digits: int = 0) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def phase_row(r: PhaseResult, ceiling: CeilingResult | None) -> dict[str, str]:
    """The results asked for: throughput, latency, completion, memory, ratio to the ceiling."""
    w = r.window or Window()
    per_case = r.messages_per_case
    kafka_rate = r.achieved * per_case if r.achieved and not math.isnan(per_case) else math.nan
    return {
        "offered/s": _f(r.rate),
        "cases": str(r.cases),
        "completed": str(r.completed),
        "achieved/s": _f(r.achieved, 1),
        "p50 ms": _f(r.p50),
        "p99 ms": _f(r.p99),
        "not done": str(r.incomplete),
        "done later": str(r.late_outcomes) if r.incomplete else "–",
        "sustained/s": _f(r.sustained, 1),
        "worker peak RSS MB": _f(w.peak_rss_mb.get("worker", math.nan)),
        "Kafka peak RSS MB": _f(w.peak_rss_mb.get("kafka", math.nan)),
        "cases/s ÷ ceiling msg/s": (
            f"{100 * r.achieved / ceiling.messages_per_s:.2f}%" if ceiling and r.achieved else "–"
        ),
        "Kafka msg/s ÷ ceiling": (
            f"{100 * kafka_rate / ceiling.messages_per_s:.1f}%" if ceiling and not math.isnan(kafka_rate) else "–"
        ),
    }


def diagnosis_row(r: PhaseResult) -> dict[str, str]:
    """Where the time goes: CPU, idle time with work queued, Kafka traffic per case."""
    w = r.window or Window()
    return {
        "offered/s": _f(r.rate),
        "max ms": _f(r.max),
        "to verification e-mail p50 ms": _f(r.to_verification_p50),
        "click → outcome p50 ms": _f(r.click_to_outcome_p50),
        "worker CPU": f"{_f(w.cpu.get('worker', math.nan))}%",
        "worker CPU with work queued": f"{_f(w.cpu_with_work)}%",
        "worker stalled": f"{_f(w.stalled_seconds, 1)} s",
        "worker CPU ms/case": _f(r.cpu_ms_per_case),
        "Kafka JVM CPU": f"{_f(w.cpu.get('kafka', math.nan))}%",
        "bench CPU": f"{_f(w.cpu.get('bench', math.nan))}%",
        "machine busy": f"{_f(w.machine_busy)}%",
        "Kafka msg/case": _f(r.messages_per_case, 1),
    }


def markdown_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return []
    keys = list(rows[0])
    return (
        ["| " + " | ".join(keys) + " |", "|" + "|".join("---:" for _ in keys) + "|"]
        + ["| " + " | ".join(row.values()) + " |" for row in rows]
        + [""]
    )


def print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    say("  " + "  ".join(k.rjust(widths[k]) for k in keys))
    for row in rows:
        say("  " + "  ".join(row[k].rjust(widths[k]) for k in keys))


# --------------------------------------------------------------------------- machine and report


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "usable cores": str(len(os.sched_getaffinity(0)))}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError):
        models = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        info["CPU"] = f"{models[0]} (×{len(models)})" if models else "?"
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20).stderr
        info["Java"] = java.splitlines()[0] if java else "?"
    except (OSError, subprocess.SubprocessError):
        info["Java"] = "?"
    info["Kafka"] = f"{KAFKA_VERSION} (embedded KRaft, 1 node, dsr.devstack.kafka, -Xmx512m, SerialGC)"
    versions = []
    for package in ("faust-streaming", "aiokafka", "kafka-python", "aiohttp", "aiosmtplib", "aiosmtpd", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    info["packages"] = ", ".join(versions)
    return info


def measured_section(ctx: dict) -> str:
    ceiling: CeilingResult | None = ctx["ceiling"]
    phases: list[PhaseResult] = ctx["phases"]
    lines = [BEGIN, "", "## Run", ""]
    lines += [
        f"- **Date:** {ctx['date']}",
        f"- **Command:** `{ctx['command']}` (from the repository root; "
        f"`make bench` runs `.venv/bin/python -m bench.pipeline`)",
        f"- **Total run time:** {ctx['total']:.0f} s",
    ]
    for key, value in ctx["machine"].items():
        lines.append(f"- **{key}:** {value}")
    lines += [f"- **Worker settings:** {ctx['settings']}", ""]
    lines += ["## Ceiling: raw aiokafka on the same broker", ""]
    if ceiling:
        lines += [
            "One Python process: producer → topic A → consumer that produces each message to topic B → consumer "
            f"of B; 1 partition per topic, acks=all, values of {ceiling.value_bytes} bytes of JSON.",
            "",
            "| measurement | messages | throughput end to end | p50 latency | p99 latency |",
            "|---|---:|---:|---:|---:|",
            f"| saturated (all sent at once) | {ceiling.received:,}/{ceiling.messages:,} | "
            f"**{ceiling.messages_per_s:,.0f} msg/s** | {ceiling.p50_ms:,.0f} ms | {ceiling.p99_ms:,.0f} ms |",
            f"| unloaded (one in flight) | {ceiling.unloaded_messages} | – | {ceiling.unloaded_p50_ms:.1f} ms | "
            f"{ceiling.unloaded_p99_ms:.1f} ms |",
            "",
            "Under saturation the latency is mostly time spent queued behind the other messages.",
            "",
        ]
    else:
        lines += ["(not run)", ""]
    seeding = ctx.get("seeding")
    lines += ["## Seeding (untimed)", ""]
    if seeding:
        lines += [
            f"Before the phases, one quote request (`dsr.form.quote_requested`, e-mail marketing consent) was "
            f"published for every person of every phase, so each erasure finds data in the CRM and the "
            f"newsletter and fans out two erase tasks: {seeding['acknowledged']}/{seeding['quotes']} "
            f"acknowledged in {seeding['seconds']:.1f} s (**{seeding['per_s']:.1f} form submissions/s**, "
            f"published all at once), pipeline settled after {seeding['settled_seconds']:.1f} s.",
            "",
        ]
    else:
        lines += ['Not done (`--no-seed`): the persons are unknown, every case ends with a "no data" answer.', ""]
    lines += [
        "## Erasure cases end to end",
        "",
        "A case: the `dsr.rights.requested` CloudEvent is published to `dsr.intake` → receipt e-mail → lookups "
        "in crm, recruitment, newsletter → verification e-mail → the benchmark POSTs the link as soon as the "
        "SMTP server has the e-mail → erase tasks → outcome e-mail accepted by the SMTP server. Latency is "
        "submission → outcome accepted, and includes the benchmark's own click. Achieved = completed within "
        'the phase timeout / (first submission → last outcome); "not done" = not complete within the '
        'timeout; "done later" = of those, complete after it (the benchmark keeps confirming for up to '
        "--finish-timeout s); sustained = every completed case / (first submission → last outcome), the "
        'capacity without the cut-off. "Kafka msg/s ÷ ceiling" = Kafka messages/s the pipeline moved '
        "(achieved × messages per case, all topics incl. changelogs and audit) ÷ the saturated ceiling. "
        '"worker CPU with work queued" = the worker\'s CPU averaged over the time some case was waiting '
        'on the pipeline (not on the benchmark\'s click); "worker stalled" = the part of that time with '
        "the worker under 10% CPU (both sampled every 0.5 s).",
        "",
    ]
    lines += markdown_table([phase_row(r, ceiling) for r in phases])
    lines += [
        "Where the time goes (CPU as % of one core over the phase; machine busy as % of all cores; "
        '"bench" is this benchmark process: load generator, link clicks and the SMTP server):',
        "",
    ]
    lines += markdown_table([diagnosis_row(r) for r in phases])
    for r in phases:
        w = r.window or Window()
        lines += [f"### {r.rate:g} cases/s offered, {r.cases} cases", ""]
        lines += [
            f"- submitted {r.submitted} in {r.submit_seconds:.1f} s "
            f"({r.submitted / r.submit_seconds if r.submit_seconds else 0:.1f}/s); "
            f"phase timeout {r.timeout_seconds:.0f} s{' — **reached**' if r.timed_out else ''}",
            f"- completed {r.completed}, **{r.achieved:.1f} cases/s** over {r.wall_seconds:.1f} s; "
            f"not complete within the timeout: {r.incomplete} (of which no verification e-mail yet: "
            f"{r.no_verification}; failed clicks: {r.click_failed})",
            f"- outcomes: {', '.join(f'{k} {v}' for k, v in sorted(r.outcomes.items())) or '–'}",
            (
                f"- people kept confirming after the timeout: {r.late_outcomes} more complete within "
                f"{r.finish_seconds:.0f} s, {r.completed + r.late_outcomes}/{r.cases} in all; sustained "
                f"**{r.sustained:.1f} cases/s** (all completed / first submission → last outcome)"
                if r.incomplete
                else "- every case complete within the timeout"
            ),
            f"- latency submission → outcome: p50 {r.p50:,.0f} ms, p99 {r.p99:,.0f} ms, max {r.max:,.0f} ms",
            f"- of which submission → verification e-mail: p50 {r.to_verification_p50:,.0f} ms, p99 "
            f"{r.to_verification_p99:,.0f} ms; the click (HTTP POST): p50 {r.click_p50:,.0f} ms, p99 "
            f"{r.click_p99:,.0f} ms; click → outcome: p50 {r.click_to_outcome_p50:,.0f} ms, p99 "
            f"{r.click_to_outcome_p99:,.0f} ms",
            f"- CPU (% of one core, over {w.seconds:.0f} s): worker {w.cpu.get('worker', math.nan):.0f}% "
            f"(event-loop thread {w.main_thread_cpu.get('worker', math.nan):.0f}%), Kafka JVM "
            f"{w.cpu.get('kafka', math.nan):.0f}%, benchmark process (load generator + SMTP server) "
            f"{w.cpu.get('bench', math.nan):.0f}%; whole machine {w.machine_busy:.0f}% busy of "
            f"{os.cpu_count()} cores",
            "- worker CPU per completed case: "
            + (f"{r.cpu_ms_per_case:.0f} ms" if not math.isnan(r.cpu_ms_per_case) else "– (cases left unfinished)"),
            f"- while some case was waiting on the pipeline ({w.seconds_with_work:.0f} s): worker at "
            f"{w.cpu_with_work:.0f}% of one core on average, under 10% for {w.stalled_seconds:.1f} s",
            f"- peak RSS (sampled every 0.5 s): worker {w.peak_rss_mb.get('worker', math.nan):.0f} MB "
            f"(VmHWM {w.hwm_mb.get('worker', math.nan):.0f} MB), "
            f"Kafka JVM {w.peak_rss_mb.get('kafka', math.nan):.0f} MB, "
            f"benchmark {w.peak_rss_mb.get('bench', math.nan):.0f} MB",
            f"- highest consumer lag seen (committed offsets, sampled every 2 s; faust commits every ~3 s): "
            f"{', '.join(f'{t} {v}' for t, v in sorted(r.max_lag.items(), key=lambda kv: -kv[1]) if v) or 'none'}",
            f"- Kafka messages written: {r.kafka_messages:,} ({r.messages_per_case:.1f} per case: "
            f"{', '.join(f'{t} {v}' for t, v in sorted(r.kafka_by_topic.items(), key=lambda kv: -kv[1]))})",
            f"- backlog drained {'in' if r.drained else 'NOT within'} {r.drain_seconds:.0f} s after the phase",
            "",
        ]
    lines += ["## Targets", ""]
    lines += targets(phases)
    lines += ["", "## Observations (computed from this run)", ""]
    lines += observations(ctx)
    lines += ["", END]
    return "\n".join(lines)


def targets(phases: list[PhaseResult]) -> list[str]:
    best = max(phases, key=lambda r: r.achieved, default=None)
    best_sustained = max((r.sustained for r in phases if not math.isnan(r.sustained)), default=math.nan)
    at_50 = next((r for r in phases if r.rate == 50), None)
    out = []
    if best is not None:
        ok = best.achieved >= 200 and best.incomplete == 0
        out.append(
            f"- **≥ 200 complete cases/s: {'met' if ok else 'NOT met'}** — best achieved "
            f"{best.achieved:.1f} cases/s (at {best.rate:g}/s offered, {best.incomplete} not complete "
            f"within the timeout); best sustained {best_sustained:.1f} cases/s."
        )
    if at_50 is not None:
        ok = not math.isnan(at_50.p99) and at_50.p99 < 2000 and at_50.incomplete == 0
        out.append(
            f"- **p99 < 2 s at 50 cases/s: {'met' if ok else 'NOT met'}** — p99 {at_50.p99:,.0f} ms, "
            f"{at_50.completed}/{at_50.cases} complete within the phase timeout."
        )
    else:
        out.append("- p99 < 2 s at 50 cases/s: not measured (no 50/s phase).")
    return out


def observations(ctx: dict) -> list[str]:
    phases: list[PhaseResult] = ctx["phases"]
    out = []
    if not phases:
        return ["- no phase ran"]
    saturated = [r for r in phases if r.incomplete or (r.achieved and r.achieved < 0.9 * r.rate)]
    top = max(phases, key=lambda r: r.achieved)
    w = top.window or Window()
    out.append(
        f"- Highest throughput: {top.achieved:.1f} cases/s at {top.rate:g}/s offered; the worker used "
        f"{w.cpu.get('worker', math.nan):.0f}% of one core there (its event-loop thread "
        f"{w.main_thread_cpu.get('worker', math.nan):.0f}%), the Kafka JVM {w.cpu.get('kafka', math.nan):.0f}%, "
        f"this benchmark process {w.cpu.get('bench', math.nan):.0f}%; the machine was "
        f"{w.machine_busy:.0f}% busy."
    )
    queued = [r for r in phases if r.window and r.window.seconds_with_work > 5]
    if queued:
        out.append(
            "- Worker CPU while cases were waiting on the pipeline: "
            + ", ".join(f"{r.window.cpu_with_work:.0f}% at {r.rate:g}/s" for r in queued)
            + " of one core; the rest of that time the only worker process waited (I/O, Kafka fetches, "
            f"SMTP round trips), in total {sum(r.window.stalled_seconds for r in queued):.1f} s below 10% CPU."
        )
    if saturated:
        first = saturated[0]
        out.append(
            f"- First saturated phase: {first.rate:g}/s offered (achieved {first.achieved:.1f}/s, "
            f"{first.incomplete} not complete within {first.timeout_seconds:.0f} s)."
        )
        lag = sorted(first.max_lag.items(), key=lambda kv: -kv[1])
        if lag and lag[0][1]:
            out.append(
                "- Highest consumer lag in that phase (committed offsets, so a busy topic shows up to ~3 s of "
                "its traffic): " + ", ".join(f"`{t}` {v}" for t, v in lag if v) + "."
            )
    else:
        out.append("- No phase saturated the pipeline: every offered rate was served.")
    per_case = [r.messages_per_case for r in phases if not math.isnan(r.messages_per_case)]
    ceiling = ctx["ceiling"]
    if per_case and ceiling:
        mean = sum(per_case) / len(per_case)
        out.append(
            f"- One erasure case writes about {mean:.0f} Kafka messages (cases, tasks, results, "
            f"notifications, audit, table changelogs); at the ceiling's {ceiling.messages_per_s:,.0f} msg/s "
            f"a raw relay doing no work could carry ~{ceiling.messages_per_s / mean:.0f} cases/s of that "
            "traffic."
        )
    return out


def write_doc(ctx: dict, path: Path = DOC) -> None:
    measured = measured_section(ctx)
    if path.exists() and BEGIN in (text := path.read_text()) and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        content = head + measured + tail
    else:
        content = (
            "# Benchmarks\n\n"
            "Measured by `bench/` (see bench/README.md). The section between the `measured` markers is "
            "rewritten by every run of `python -m bench.pipeline`; the text after it is kept.\n\n" + measured + "\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


# --------------------------------------------------------------------------- main


class BenchPipeline(Pipeline):
    """tests.integration.pipeline.Pipeline with the production log level (info logs cost CPU)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loglevel = "warning"


def plan(rates: list[float], seconds: float, cap: int) -> list[tuple[float, int]]:
    return [(rate, max(1, min(cap, int(round(rate * seconds))))) for rate in rates]


async def bench(args: argparse.Namespace, pipe: BenchPipeline, kafka: EmbeddedKafka, ctx: dict) -> None:
    watch = KafkaWatch(kafka.bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", client_id="bench-website")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=30))
    tracker = Tracker(pipe, session)
    sampler = Sampler({"worker": pipe.process.pid, "kafka": kafka._proc.pid, "bench": os.getpid()})
    try:
        await watch.start()
        await producer.start()
        tracker.start()
        if args.ceiling_messages > 0:
            say(f"ceiling: raw aiokafka loop, {args.ceiling_messages:,} messages ...")
            ctx["ceiling"] = await run_ceiling(
                kafka.bootstrap, args.ceiling_messages, timeout=args.ceiling_timeout, progress=say
            )
        phases = plan(args.rates, args.seconds, args.max_cases)
        people = [[Case(i, *new_person()) for i in range(count)] for _, count in phases]
        if args.seed:
            everyone = [c for group in people for c in group]
            say(f"seeding: {len(everyone)} quote requests (untimed) ...")
            ctx["seeding"] = await seed(everyone, producer, tracker, watch, args.seed_timeout)
            s = ctx["seeding"]
            say(
                f"  seeded {s['acknowledged']}/{s['quotes']} in {s['seconds']:.1f} s ({s['per_s']:.1f}/s); "
                f"settled after {s['settled_seconds']:.1f} s"
            )
        rows, diagnosis = [], []
        for (rate, count), cases in zip(phases, people, strict=False):
            say(f"phase: {rate:g} cases/s offered, {count} cases, timeout {count / rate + args.grace:.0f} s")
            result = await run_phase(
                rate, cases, producer, tracker, watch, sampler, args.grace, args.finish_timeout, args.drain_timeout
            )
            ctx["phases"].append(result)
            rows.append(phase_row(result, ctx["ceiling"]))
            diagnosis.append(diagnosis_row(result))
            print_table(rows)
            print_table(diagnosis)
            if not result.drained:
                say(
                    f"  the pipeline did not drain within {args.drain_timeout:.0f} s: stopping here "
                    "(a further phase would measure the previous one's backlog)"
                )
                ctx["stopped_early"] = f"after {rate:g}/s: backlog not drained within {args.drain_timeout:.0f} s"
                break
    finally:
        await tracker.stop()
        await session.close()
        for closing in (producer.stop(), watch.close()):
            with contextlib.suppress(Exception):
                await closing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates",
        default="10,20,50,100,200",
        type=lambda s: [float(x) for x in s.split(",") if x.strip()],
        help="offered loads in cases/s, in order (default 10,20,50,100,200)",
    )
    parser.add_argument("--seconds", type=float, default=10, help="cases per phase = rate × this (default 10)")
    parser.add_argument("--max-cases", type=int, default=800, help="cap on cases per phase (default 800)")
    parser.add_argument(
        "--grace", type=float, default=30, help="phase timeout = submission time + this many seconds (default 30)"
    )
    parser.add_argument(
        "--finish-timeout",
        type=float,
        default=45,
        help="after the phase timeout, how long links are still followed so late cases can finish (default 45)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=30,
        help="then, bound on the wait for the worker's backlog to drain (default 30)",
    )
    parser.add_argument("--ceiling-messages", type=int, default=20_000, help="0 skips the ceiling")
    parser.add_argument("--ceiling-timeout", type=float, default=90)
    parser.add_argument(
        "--seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="publish a quote request per person first, so erasures touch data (default on)",
    )
    parser.add_argument("--seed-timeout", type=float, default=120)
    parser.add_argument("--tick-seconds", default="30", help="DSR_TICK_SECONDS of the worker (production default 30)")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the worker, e.g. DSR_PARTITIONS=4 (repeatable)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="diagnosis: run the worker with bench/profiler/sitecustomize.py (CPU samples of its main "
        "thread, where its tasks wait); adds overhead, so no report is written",
    )
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown report (default docs/benchmarks.md)")
    parser.add_argument("--no-report", action="store_true", help="print only, do not write the report")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, Kafka data)")
    return parser.parse_args(argv)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM behaves like Ctrl-C: the run is cancelled and every finally below stops what was started.
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    command = "python -m bench.pipeline" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    ctx: dict = {
        "ceiling": None,
        "phases": [],
        "seeding": None,
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }
    say(
        f"machine: {ctx['machine']['CPU']}, {ctx['machine']['nproc']} cores, {ctx['machine'].get('memory')}, "
        f"Python {ctx['machine']['Python']}, Kafka {KAFKA_VERSION}"
    )
    say(f"run directory: {run_dir}")
    kafka = pipe = None
    ok = failed = False
    try:
        kafka = EmbeddedKafka(run_dir / "kafka", port=free_port())
        say("starting Kafka ...")
        kafka.start()
        env = {"DSR_TICK_SECONDS": args.tick_seconds, "DSR_SYSTEMS": "crm,recruitment,newsletter"}
        env |= dict(item.split("=", 1) for item in args.worker_env)
        if args.profile:
            args.no_report = args.keep = True
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(ROOT / "bench" / "profiler"), env.get("PYTHONPATH") or os.environ.get("PYTHONPATH")])
            )
            env["DSR_BENCH_PROFILE_OUT"] = str(run_dir / "profile.json")
        pipe = BenchPipeline(kafka.bootstrap, run_dir, **env)
        say("starting the worker (python -m dsr.cli run) ...")
        pipe.start()
        ctx["settings"] = (
            f"one worker process, DSR_PARTITIONS={pipe.env.get('DSR_PARTITIONS', '1 (default)')}, "
            f"DSR_TICK_SECONDS={args.tick_seconds}, DSR_SYSTEMS=crm,recruitment,newsletter "
            f"(built in), DSR_SAMPLE_DATA=false, --loglevel warning" + "".join(f", {item}" for item in args.worker_env)
        )
        asyncio.run(bench(args, pipe, kafka, ctx))
        ok = True
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("interrupted: stopping everything")
    except BaseException:
        failed = True
        raise
    finally:
        if pipe is not None:
            if pipe.process is not None and pipe.process.poll() is not None and failed:
                say(f"worker log tail:\n{pipe.log_tail(30)}")
            pipe.close()
        if kafka is not None:
            kafka.stop()
        ctx["total"] = time.monotonic() - started
        if args.profile and (run_dir / "profile.json").exists():
            from bench.profile_report import summarize

            say("\nworker profile (bench/profiler; overhead included):\n" + summarize(run_dir / "profile.json"))
        if ok and ctx["phases"] and not args.no_report:
            write_doc(ctx, args.out)
            say(f"wrote {args.out}")
        if args.keep or failed:
            say(f"run directory kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    say(f"total {ctx['total']:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
