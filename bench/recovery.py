"""How long a worker holding many stored cases takes to be ready, and its peak memory: tables in memory or on disk.

    python -m bench.recovery [--cases 100000]        (what `make bench-recovery` runs; 3-6 minutes)

On 127.0.0.1: an embedded Kafka broker and one worker (`python -m dsr.cli run`) as a subprocess. A first start
creates the topics (DSR_PARTITIONS: the default of `dsr run`); then the case table's changelog is filled with
--cases closed erasure cases (the bytes of one real case, closed by the stream functions in this process, under
a new request id each). Then, for DSR_TABLE_STORE=memory and =rocksdb, the worker is started twice on its own
data dir: the first start reads the whole changelog, the restart only what its tables do not already hold
(all of it again in memory; nothing in RocksDB). Measured per start: seconds from the process start to GET
/health 200 (tables recovered, partitions assigned) and the worker's peak RSS (VmHWM). Results go to the
"recovery" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from faust.serializers import codecs
from kafka import KafkaProducer

from dsr.devstack.kafka import KAFKA_VERSION, EmbeddedKafka, free_port
from tests.integration.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
CHANGELOG = "dsr-pipeline-cases-changelog"
START, END = "<!-- recovery:begin -->", "<!-- recovery:end -->"


async def closed_case() -> tuple[str, bytes]:
    """One erasure case run to its end by the stream functions (quote, request, confirmation, outcome)."""
    from tests.streams.bus import Bus
    from tests.streams.test_flow import CAMILLE, confirm, example, raw

    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))
    await bus.submit(raw(example("dsr.rights.requested")))
    await confirm(bus, CAMILLE)
    ((request_id, state),) = bus.cases.items()
    return request_id, state


def fill_changelog(bootstrap: str, cases: int) -> int:
    """`cases` copies of one closed case, each under its own request id, keyed as the table keys them."""
    request_id, state = asyncio.run(closed_case())
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024)
    for _ in range(cases):
        new_id = str(uuid.uuid4())
        value = state.replace(request_id.encode(), new_id.encode())
        # As the table writes it: faust's table serializer (json) on the key and on the stored bytes.
        producer.send(CHANGELOG, key=codecs.dumps("json", new_id), value=codecs.dumps("json", value))
    producer.flush(120)
    producer.close()
    return len(state)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_start(pipeline: Pipeline, first: bool) -> tuple[float, float]:
    """(seconds to ready, peak RSS MB) of one start of the pipeline's worker, which is then stopped."""
    started = time.monotonic()
    if first:
        pipeline.start(timeout=900)
    else:
        pipeline.workers[0].start(timeout=900)
    ready = time.monotonic() - started
    rss = peak_rss_mb(pipeline.process.pid)
    pipeline.stop()
    return ready, rss


def measure(bootstrap: str, run: Path, store: str) -> list[tuple[str, float, float]]:
    pipeline = Pipeline(bootstrap, _dir(run / store), DSR_TABLE_STORE=store, DSR_TICK_SECONDS="30")
    try:
        return [
            (f"{store}, {which}", *timed_start(pipeline, which == "first start"))
            for which in ("first start", "restart")
        ]
    finally:
        pipeline.close()


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_doc(lines: list[str]) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    section = "\n".join([START, *lines, END])
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Recovery of a worker: tables in memory or on disk\n\n" + section + "\n"
    DOC.write_text(text)


def report(cases: int, size: int, rows: list[tuple[str, float, float]]) -> list[str]:
    return [
        f"`python -m bench.recovery --cases {cases}` ({time.strftime('%Y-%m-%d')}; {platform.machine()}, "
        f"{_cores()} cores, Python {platform.python_version()}, Kafka {KAFKA_VERSION} one node, "
        f"DSR_PARTITIONS 6): {cases:,} closed erasure cases of {size:,} bytes each in the case table's changelog.",
        "",
        "| tables | start | time to ready (s) | worker's peak RSS (MB) |",
        "|---|---|---|---|",
        *(f"| {name.split(', ')[0]} | {name.split(', ')[1]} | {ready:.1f} | {rss:.0f} |" for name, ready, rss in rows),
    ]


def _cores() -> int:
    return os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    run = Path(tempfile.mkdtemp(prefix="dsr-bench-recovery-"))
    broker = EmbeddedKafka(run / "kafka", port=free_port()).start()
    try:
        creator = Pipeline(broker.bootstrap, _dir(run / "topics"))
        try:
            timed_start(creator, first=True)  # creates every topic
        finally:
            creator.close()
        size = fill_changelog(broker.bootstrap, args.cases)
        rows = [row for store in ("memory", "rocksdb") for row in measure(broker.bootstrap, run, store)]
    finally:
        broker.stop()
        shutil.rmtree(run, ignore_errors=True)
    lines = report(args.cases, size, rows)
    print("\n".join(lines))
    if not args.no_doc:
        write_doc(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
