"""What the benchmark measures around the pipeline: CPU and memory from /proc, Kafka offsets and consumer lag."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

GROUP = "dsr-pipeline"  # the faust app id is the consumer group
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKER = "worker"  # the sampled names of worker processes start with this


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
    stalled_seconds: float = 0.0  # workers together under 10% CPU while the pipeline had work queued
    cpu_with_work: float = float("nan")  # workers' CPU (% of one core) averaged over the time work was queued
    seconds_with_work: float = 0.0

    @property
    def workers_cpu(self) -> float:
        """Every worker process together, % of one core."""
        found = [v for k, v in self.cpu.items() if k.startswith(WORKER)]
        return sum(found) if found else math.nan

    @property
    def workers_main_thread_cpu(self) -> float:
        found = [v for k, v in self.main_thread_cpu.items() if k.startswith(WORKER)]
        return sum(found) if found else math.nan

    @property
    def workers_peak_rss_mb(self) -> float:
        """The largest worker's peak (each worker holds its own partitions' tables)."""
        return max((v for k, v in self.peak_rss_mb.items() if k.startswith(WORKER)), default=math.nan)


class Sampler:
    """Samples VmRSS every `interval` seconds (VmHWM at the end) and CPU ticks per window."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.pending = lambda: False  # does the pipeline have work queued (set per phase)?
        self._task: asyncio.Task | None = None
        self._reset()

    def _reset(self) -> None:
        self._t0 = self._last_t = time.monotonic()
        self._ticks = {name: _stat_ticks(f"/proc/{pid}/stat") for name, pid in self.pids.items()}
        self._threads = {name: _thread_ticks(pid) for name, pid in self.pids.items()}
        self._machine = self._last_machine = _machine_ticks()
        self._peak = dict.fromkeys(self.pids, 0)
        self._last_cpu = dict(self._ticks)
        self.recent_cpu = {name: float("nan") for name in self.pids}
        self.recent_machine = float("nan")
        self._stalled = self._with_work = 0.0
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
        workers_before = self._workers_ticks()
        for name, pid in self.pids.items():
            self._sample_process(name, pid, now)
        workers_now = self._workers_ticks()
        if workers_before is not None and workers_now is not None and now > self._last_t and self.pending():
            self._count_work((workers_now - workers_before) / CLK_TCK, now - self._last_t)
        self._last_t = now
        busy, total = _machine_ticks()
        if total > self._last_machine[1]:
            self.recent_machine = 100 * (busy - self._last_machine[0]) / (total - self._last_machine[1])
        self._last_machine = (busy, total)

    def _sample_process(self, name: str, pid: int, now: float) -> None:
        rss = _status_kb(pid).get("VmRSS")
        if rss:
            self._peak[name] = max(self._peak[name], rss)
        ticks = _stat_ticks(f"/proc/{pid}/stat")
        last = self._last_cpu.get(name)
        if ticks is not None and last is not None and now > self._last_t:
            self.recent_cpu[name] = 100 * (ticks - last) / CLK_TCK / (now - self._last_t)
        self._last_cpu[name] = ticks

    def _workers_ticks(self) -> int | None:
        ticks = [v for k, v in self._last_cpu.items() if k.startswith(WORKER)]
        return None if not ticks or None in ticks else sum(ticks)

    def _count_work(self, used: float, elapsed: float) -> None:
        self._with_work += elapsed
        self._with_work_cpu += used
        if 100 * used / elapsed < 10:
            self._stalled += elapsed

    @property
    def recent_workers_cpu(self) -> float:
        return sum(v for k, v in self.recent_cpu.items() if k.startswith(WORKER))

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
            self._close_process(window, name, pid, seconds)
        busy, total = _machine_ticks()
        if total > self._machine[1]:
            window.machine_busy = 100 * (busy - self._machine[0]) / (total - self._machine[1])
        return window

    def _close_process(self, window: Window, name: str, pid: int, seconds: float) -> None:
        ticks, before = _stat_ticks(f"/proc/{pid}/stat"), self._ticks.get(name)
        if ticks is not None and before is not None and seconds > 0:
            window.cpu[name] = 100 * (ticks - before) / CLK_TCK / seconds
        main_before = self._threads[name].get(pid)
        main_now = _thread_ticks(pid).get(pid)
        if main_before and main_now and seconds > 0:
            window.main_thread_cpu[name] = 100 * (main_now[1] - main_before[1]) / CLK_TCK / seconds
        window.peak_rss_mb[name] = self._peak[name] / 1024
        window.hwm_mb[name] = (_status_kb(pid).get("VmHWM") or 0) / 1024


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
