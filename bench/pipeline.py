"""The pipeline end to end under increasing offered load, with one worker then more, next to the raw Kafka ceiling.

    python -m bench.pipeline            (what `make bench` runs)

On this machine, all on 127.0.0.1: an embedded Kafka broker, an embedded PostgreSQL (the key vault and the
reference systems' stores, which every worker shares), a real SMTP server (the dev sink) in this process,
and the workers (`python -m dsr.cli run`) as subprocesses. Then:

1. the ceiling (bench.ceiling): a raw aiokafka produce -> consume/produce -> consume loop;
2. seeding (untimed): one quote request per person of every phase, so every erasure touches data
   in the CRM and the newsletter (turn off with --no-seed: the outcome is then "no data");
3. with one worker, then two (up to --workers), the same phases, one per offered rate: erasure requests
   published to `dsr.intake` at that rate; as soon as a verification e-mail reaches the SMTP server its
   link is POSTed (a person confirming); a case is complete when its outcome e-mail is accepted.

Measured per phase (bench.phase, bench.measure): sustained complete cases/s, p50/p99 submission -> outcome,
Kafka messages per case, CPU of the workers per case, the ratio to the ceiling, dead letters; a phase that
writes to any dead-letter topic fails the run (exit status 1, the topic named). Results go to
docs/benchmarks.md (bench.report; between the "measured" markers, text outside them is kept).

Everything started here is stopped on exit, Ctrl-C, SIGTERM or error; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from bench.ceiling import run_ceiling
from bench.measure import KafkaWatch, Sampler, wait_drained
from bench.people import Case, Tracker
from bench.phase import Bounds, Load, Phase, PhaseResult, say, seed
from bench.report import DOC, ROOT, diagnosis_row, machine, phase_row, print_table, write_doc
from dsr.devstack.kafka import KAFKA_VERSION, EmbeddedKafka, free_port
from dsr.devstack.postgres import EmbeddedPostgres
from tests.integration.pipeline import Pipeline, new_person

PARTITIONS = "4"  # the same for one worker and for several, so that they compare


class BenchPipeline(Pipeline):
    """tests.integration.pipeline.Pipeline with the production log level (info logs cost CPU)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loglevel = "warning"


@dataclass
class Plan:
    """Which people each phase uses: one list per (workers, rate), all seeded before the first phase."""

    phases: list[tuple[int, float, list[Case]]] = field(default_factory=list)

    @classmethod
    def make(cls, args: argparse.Namespace) -> Plan:
        plan, index = cls(), 0
        for workers in range(1, args.workers + 1):
            for rate in args.rates:
                count = max(1, min(args.max_cases, int(round(rate * args.seconds))))
                plan.phases.append((workers, rate, [Case(index + i, *new_person()) for i in range(count)]))
                index += count
        return plan

    @property
    def everyone(self) -> list[Case]:
        return [case for _, _, cases in self.phases for case in cases]


async def bench(args: argparse.Namespace, pipe: BenchPipeline, kafka: EmbeddedKafka, ctx: dict) -> None:
    watch = KafkaWatch(kafka.bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", client_id="bench-website")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=30))
    tracker = Tracker(pipe, session)
    load = Load(producer, tracker, watch, Sampler({}))
    try:
        await watch.start()
        await producer.start()
        tracker.start()
        await _ceiling(args, kafka, ctx)
        plan = Plan.make(args)
        if args.seed:
            ctx["seeding"] = await _seed(plan, load, args.seed_timeout)
        await _phases(args, plan, pipe, kafka, load, ctx)
    finally:
        await tracker.stop()
        await session.close()
        for closing in (producer.stop(), watch.close()):
            with contextlib.suppress(Exception):
                await closing


async def _ceiling(args: argparse.Namespace, kafka: EmbeddedKafka, ctx: dict) -> None:
    if args.ceiling_messages > 0:
        say(f"ceiling: raw aiokafka loop, {args.ceiling_messages:,} messages ...")
        ctx["ceiling"] = await run_ceiling(
            kafka.bootstrap, args.ceiling_messages, timeout=args.ceiling_timeout, progress=say
        )


async def _seed(plan: Plan, load: Load, timeout: float) -> dict:
    everyone = plan.everyone
    say(f"seeding: {len(everyone)} quote requests (untimed) ...")
    s = await seed(everyone, load, timeout)
    say(f"  seeded {s['acknowledged']}/{s['quotes']} in {s['seconds']:.1f} s, settled in {s['settled_seconds']:.0f} s")
    return s


async def _phases(
    args: argparse.Namespace, plan: Plan, pipe: BenchPipeline, kafka: EmbeddedKafka, load: Load, ctx: dict
) -> None:
    bounds = Bounds(args.grace, args.finish_timeout, args.drain_timeout)
    rows, diagnosis, saturated = [], [], set()
    for workers, rate, cases in plan.phases:
        if workers in saturated:
            continue  # a higher rate would measure the previous phase's backlog
        if len(pipe.workers) < workers:
            await _add_workers(pipe, workers, load.watch, 3 * args.drain_timeout)  # the backlog, then the new one
        load.sampler = Sampler(_pids(pipe, kafka))
        say(f"phase: {workers} worker(s), {rate:g} cases/s offered, {len(cases)} cases")
        result = await Phase(rate, cases, load, bounds, workers).run()
        ctx["phases"].append(result)
        rows.append(phase_row(result, ctx["ceiling"]))
        diagnosis.append(diagnosis_row(result))
        print_table(rows)
        print_table(diagnosis)
        _judge(result, ctx)
        if not result.drained:
            saturated.add(workers)
            say(f"  not drained within {args.drain_timeout:.0f} s: no higher rate with {workers} worker(s)")


def _judge(result: PhaseResult, ctx: dict) -> None:
    """A phase that dead-letters anything fails the run; the others still run, so the figures are complete."""
    if result.dead_letters:
        topics = ", ".join(f"{t} ({n})" for t, n in result.dead_letters.items())
        failure = f"{result.workers} worker(s) at {result.rate:g}/s dead-lettered messages: {topics}"
        say(f"  FAILED: {failure}")
        ctx["failed"] = "; ".join(filter(None, [ctx.get("failed"), failure]))


async def _add_workers(pipe: BenchPipeline, workers: int, watch: KafkaWatch, drain_timeout: float) -> None:
    while len(pipe.workers) < workers:
        say(f"starting worker {len(pipe.workers) + 1} (python -m dsr.cli run) ...")
        await asyncio.to_thread(pipe.add_worker)
    await asyncio.sleep(5)  # the group rebalances: partitions move, tables are restored
    drained, seconds = await wait_drained(watch, drain_timeout)
    say(f"  group settled: lag {'0' if drained else 'not 0'} after {seconds:.0f} s")


def _pids(pipe: BenchPipeline, kafka: EmbeddedKafka) -> dict[str, int]:
    pids = {f"worker {i + 1}": w.process.pid for i, w in enumerate(pipe.workers)}
    return pids | {"kafka": kafka._proc.pid, "bench": os.getpid()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _load_options(parser)
    _run_options(parser)
    return parser.parse_args(argv)


def _load_options(parser: argparse.ArgumentParser) -> None:
    rates = lambda s: [float(x) for x in s.split(",") if x.strip()]  # noqa: E731 - an argparse type
    parser.add_argument("--rates", default="20,50,100", type=rates, help="offered cases/s, in order (20,50,100)")
    parser.add_argument("--workers", type=int, default=2, help="the phases run with 1, 2 ... up to this many workers")
    parser.add_argument("--seconds", type=float, default=10, help="cases per phase = rate × this (default 10)")
    parser.add_argument("--max-cases", type=int, default=600, help="cap on cases per phase (default 600)")
    parser.add_argument("--grace", type=float, default=30, help="phase timeout = submission time + this (30 s)")
    parser.add_argument("--finish-timeout", type=float, default=45, help="then, how long links are still followed")
    parser.add_argument("--drain-timeout", type=float, default=30, help="then, bound on the wait for the backlog")
    parser.add_argument("--ceiling-messages", type=int, default=20_000, help="0 skips the ceiling")
    parser.add_argument("--ceiling-timeout", type=float, default=90)
    parser.add_argument(
        "--seed", action=argparse.BooleanOptionalAction, default=True, help="a quote request per person first"
    )
    parser.add_argument("--seed-timeout", type=float, default=120)


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tick-seconds", default="30", help="DSR_TICK_SECONDS of the workers (production: 30)")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="extra worker setting (repeatable)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="diagnosis (with --workers 1): the worker runs bench/profiler/sitecustomize.py (CPU samples of its main "
        "thread, where its tasks wait); adds overhead, so no report is written",
    )
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown report (default docs/benchmarks.md)")
    parser.add_argument("--no-report", action="store_true", help="print only, do not write the report")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, Kafka data)")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def worker_env(args: argparse.Namespace, postgres: EmbeddedPostgres, run_dir: Path) -> dict[str, str]:
    env = {
        "DSR_TICK_SECONDS": args.tick_seconds,
        "DSR_SYSTEMS": "crm,recruitment,newsletter",
        "DSR_PARTITIONS": PARTITIONS,
        "DSR_POSTGRES_DSN": postgres.dsn,  # the reference systems' stores, shared by every worker
        "DSR_VAULT_DSN": postgres.dsn,  # the key vault, idem
    }
    env |= dict(item.split("=", 1) for item in args.worker_env)
    if args.profile:
        args.no_report = args.keep = True
        path = [str(ROOT / "bench" / "profiler"), env.get("PYTHONPATH") or os.environ.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
        env["DSR_BENCH_PROFILE_OUT"] = str(run_dir / "profile.json")
    return env


def settings_text(args: argparse.Namespace, pipe: BenchPipeline) -> str:
    extra = "".join(f", {item}" for item in args.worker_env)
    return (
        f"1 to {args.workers} `dsr run` processes in one consumer group, DSR_PARTITIONS={pipe.env['DSR_PARTITIONS']}, "
        f"DSR_TICK_SECONDS={args.tick_seconds}, DSR_SYSTEMS=crm,recruitment,newsletter (built in, on PostgreSQL), "
        f"key vault on PostgreSQL (embedded, same machine), DSR_SAMPLE_DATA=false, --loglevel warning{extra}; "
        "verification links POSTed to the first worker's public listener (it asks the case's owner)"
    )


def new_context(argv: list[str] | None) -> dict:
    given = sys.argv[1:] if argv is None else argv
    return {
        "ceiling": None,
        "phases": [],
        "seeding": None,
        "failed": None,
        "command": " ".join(["python -m bench.pipeline", *given]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: every finally below stops what was started
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    ctx, started = new_context(argv), time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    m = ctx["machine"]
    say(f"machine: {m['CPU']}, {m['nproc']} cores, {m.get('memory')}, Python {m['Python']}, Kafka {KAFKA_VERSION}")
    say(f"run directory: {run_dir}")
    ok = _run(args, run_dir, ctx)
    ctx["total"] = time.monotonic() - started
    _report(args, run_dir, ctx, ok)
    say(f"total {ctx['total']:.0f} s")
    if ctx["failed"]:
        say(f"FAILED: {ctx['failed']}")
    return 0 if ok and not ctx["failed"] else 1


def _run(args: argparse.Namespace, run_dir: Path, ctx: dict) -> bool:
    """Start Kafka, PostgreSQL and the first worker, run everything, stop them all; True when it ran through."""
    kafka = pipe = None
    try:
        with EmbeddedPostgres(database="dsr_bench") as postgres:
            kafka = EmbeddedKafka(run_dir / "kafka", port=free_port())
            say("starting Kafka ...")
            kafka.start()
            pipe = BenchPipeline(kafka.bootstrap, run_dir, **worker_env(args, postgres, run_dir))
            say("starting worker 1 (python -m dsr.cli run) ...")
            pipe.start()
            ctx["settings"] = settings_text(args, pipe)
            asyncio.run(bench(args, pipe, kafka, ctx))
            return True
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("interrupted: stopping everything")
        return False
    except BaseException:
        args.keep = True
        if pipe is not None and pipe.process is not None and pipe.process.poll() is not None:
            say(f"worker log tail:\n{pipe.log_tail(30)}")
        raise
    finally:
        if pipe is not None:
            pipe.close()
        if kafka is not None:
            kafka.stop()


def _report(args: argparse.Namespace, run_dir: Path, ctx: dict, ok: bool) -> None:
    if args.profile and (run_dir / "profile.json").exists():
        from bench.profile_report import summarize

        say("\nworker profile (bench/profiler; overhead included):\n" + summarize(run_dir / "profile.json"))
    if ok and ctx["phases"] and not args.no_report:
        write_doc(ctx, args.out)
        say(f"wrote {args.out}")
    if args.keep:
        say(f"run directory kept: {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
