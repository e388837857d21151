"""The retention sweep at scale: a reference CRM of N people on PostgreSQL, planned, then erased.

    python -m bench.retention --people 100000 [--erase 2000] [--dsn postgresql://...]

1. generate: the reference CRM's tables (handlers/reference/crm.py) in schema `crm`, filled with COPY: per person
   a `people` row, one quote request and four consents (one per channel, as a form records them), and for one
   person in ten a paid invoice; first contacts spread evenly over 2018-01-01 .. 2025-12-31, so that about
   half of them are past their end on the plan's date (2027-01-01);
2. plan: `dsr.retention.scan` + `plan_of` over the CRM as `dsr retention plan` runs them (the scan reads
   SCAN_CHUNK people at a time, a query per table): seconds, people planned, peak RSS of this process;
3. erase: the first `--erase` items of the plan carried out by `dsr.retention.run_sweep`, each task run at
   once by `handlers.runtime.run_task` on the CRM, as a worker's task agent would (no Kafka in between):
   erasures per second;
4. publish (`--publish`): every item of the plan published by `run_sweep` through `KafkaSweepSink` to an
   embedded broker (`dsr.devstack.kafka.EmbeddedKafka`), the subject sealed per system as `dsr retention run`
   does: tasks/s, next to the raw aiokafka ceiling (bench/ceiling.py, saturated) on the same broker.

Without `--dsn`, a throwaway cluster is started with `dsr.devstack.postgres.EmbeddedPostgres` (fsync off).
Prints one JSON object; docs/benchmarks.md keeps the figures by hand (section "Retention sweep").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from dsr.register import load_register
from dsr.retention import RetentionStore, Sweep, plan_of, run_sweep, scan
from handlers.protocol import Subject
from handlers.reference import CrmAdapter, PostgresStore
from handlers.reference.db import ScrubPolicy
from handlers.runtime import run_task
from streams.ports import MemoryKeyVault
from streams.sealing import Sealer

AS_OF = date(2027, 1, 1)
FIRST = datetime(2018, 1, 1, 9, 0, tzinfo=UTC)
SPAN_DAYS = (datetime(2025, 12, 31, tzinfo=UTC) - FIRST).days
SECRET = b"bench-retention-secret-0123456789abcdef"
CHANNELS = ("email", "sms", "phone", "post")


def generate(dsn: str, people: int) -> float:
    """Schema by the CRM itself, rows by COPY; seconds taken."""
    started = time.perf_counter()
    CrmAdapter(PostgresStore(dsn, "crm")).close()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET search_path TO crm")
        _copy(cur, "people (email, first_name, last_name, created_at, last_contact_at)", _people(people))
        _copy(cur, "quote_requests (submission_id, email, service, message, submitted_at)", _quotes(people))
        _copy(cur, "consents (email, channel, granted, recorded_at, source)", _consents(people))
        _copy(cur, "invoices (email, number, amount_cents, issued_at, paid_at)", _invoices(people))
    with psycopg.connect(dsn, autocommit=True) as conn:  # as autovacuum leaves a live database: pages all-visible
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def _copy(cur, target: str, rows) -> None:
    """Streamed in pieces: the generator's memory stays out of the plan's peak."""
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write("\t".join(map(str, row)) + "\n")


def _at(n: int) -> str:
    return (FIRST + timedelta(days=n * 7919 % SPAN_DAYS)).isoformat()


def _email(n: int) -> str:
    return f"person{n:07d}@bench.example"


def _people(count: int):
    return ((_email(n), "Prénom", "Nom", _at(n), _at(n)) for n in range(count))


def _quotes(count: int):
    return ((f"q{n}", _email(n), "plomberie", "", _at(n)) for n in range(count))


def _consents(count: int):
    return ((_email(n), c, "f", _at(n), "dsr.form.quote_requested") for n in range(count) for c in CHANNELS)


def _invoices(count: int):
    return ((_email(n), f"F{n}", 12000, _at(n)[:10], _at(n)[:10]) for n in range(0, count, 10))


def plan(dsn: str) -> tuple[float, object, dict]:
    crm, register = CrmAdapter(PostgresStore(dsn, "crm")), load_register(None)
    started = time.perf_counter()
    scanned = scan([crm], register, SECRET, AS_OF)
    made = plan_of(scanned, AS_OF)
    crm.close()
    return time.perf_counter() - started, made, scanned.emails


class RunningSink:
    """Runs each task at once on the CRM through the task runtime, as the worker's agent would."""

    def __init__(self, crm: CrmAdapter, sealer: Sealer) -> None:
        self.crm, self.sealer, self.done = crm, sealer, 0

    def task(self, task) -> None:
        result = asyncio.run(run_task(self.crm, task, self.sealer.open, self.sealer.seal_existing, attempts=1))
        self.done += result.status == "done"

    def audit(self, record) -> None:
        pass

    def notify(self, request) -> None:
        pass

    def flush(self) -> None:
        pass


def erase(dsn: str, made, emails: dict, count: int, store: Path) -> tuple[float, int]:
    crm, sealer = CrmAdapter(PostgresStore(dsn, "crm")), Sealer(MemoryKeyVault(), SECRET)
    part = type(made)(as_of=made.as_of, rows=made.rows, items=made.items[:count], waiting=made.waiting)
    sink = RunningSink(crm, sealer)
    sweep = Sweep(part, emails, load_register(None), lambda r, v, s: sealer.seal(r, v, audience=s), _now)
    started = time.perf_counter()
    run_sweep(sweep, sink, RetentionStore(store))
    crm.close()  # the last VACUUM (ScrubPolicy) counted in
    return time.perf_counter() - started, sink.done


def _now() -> datetime:
    return datetime.now(UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish(made, emails: dict) -> dict:
    """The plan's tasks through the sweep's Kafka sink, then the raw ceiling on the same broker."""
    from bench.ceiling import run_ceiling
    from dsr.devstack.kafka import EmbeddedKafka, free_port
    from dsr.retention_kafka import KafkaSweepSink

    with tempfile.TemporaryDirectory() as root:
        broker = EmbeddedKafka(Path(root) / "kafka", port=free_port()).start()
        try:
            sealer, sink = Sealer(MemoryKeyVault(), SECRET), KafkaSweepSink(broker.bootstrap)
            sweep = Sweep(made, emails, load_register(None), lambda r, v, s: sealer.seal(r, v, audience=s), _now)
            started = time.perf_counter()
            run_sweep(sweep, sink, RetentionStore(Path(root) / "store"))
            seconds = time.perf_counter() - started
            sink.close()
            ceiling = asyncio.run(run_ceiling(broker.bootstrap, messages=20_000, progress=lambda *a: None))
        finally:
            broker.stop()
    rate = len(made.items) / seconds
    return {
        "published_tasks": len(made.items),
        "publish_s": round(seconds, 1),
        "tasks_per_s": round(rate),
        "ceiling_messages_per_s": round(ceiling.messages_per_s),
        "ratio_to_ceiling": round(rate / ceiling.messages_per_s, 2),
    }


def measure(dsn: str, people: int, erasures: int, with_publish: bool = False) -> dict:
    generated = generate(dsn, people)
    rss_before = peak_rss_mb()
    plan_seconds, made, emails = plan(dsn)
    rss_plan = peak_rss_mb()
    published = publish(made, emails) if with_publish else {}
    with tempfile.TemporaryDirectory() as store:
        erase_seconds, erased = erase(dsn, made, emails, erasures, Path(store))
    return (
        published
        | {
            "people": people,
            "generate_s": round(generated, 1),
            "plan_s": round(plan_seconds, 1),
            "planned_people": made.size,
            "people_per_s_scanned": round(people / plan_seconds),
            "peak_rss_mb_before_plan": round(rss_before),
            "peak_rss_mb_after_plan": round(rss_plan),
            "erased": erased,
            "erase_s": round(erase_seconds, 1),
            "erasures_per_s": round(erased / erase_seconds, 1),
        }
        | _machine()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--erase", type=int, default=2000, help="items of the plan carried out")
    parser.add_argument("--dsn", default=None, help="a database to fill (default: a throwaway cluster)")
    parser.add_argument("--publish", action="store_true", help="also publish the plan's tasks to a broker")
    parser.add_argument(
        "--carry-out", action="store_true", help="instead: `dsr retention run` and a `dsr run` worker carry it out"
    )
    parser.add_argument("--as-of", default=AS_OF.isoformat(), help="with --carry-out: the plan's date")
    parser.add_argument("--kill-halfway", action="store_true", help="with --carry-out: SIGKILL each once, halfway")
    args = parser.parse_args()
    if args.dsn:
        print(json.dumps(run(args, args.dsn)))
        return
    from dsr.devstack.postgres import EmbeddedPostgres

    with EmbeddedPostgres(database="dsr_bench_retention") as server:
        print(json.dumps(run(args, server.dsn)))


def run(args: argparse.Namespace, dsn: str) -> dict:
    if not args.carry_out:
        return measure(dsn, args.people, args.erase, args.publish)
    from bench.retention_worker import carry_out

    generated = generate(dsn, args.people)
    figures = carry_out(dsn, args.people, args.as_of, args.kill_halfway)
    figures |= scrub_costs(dsn)
    return {"people": args.people, "as_of": args.as_of, "generate_s": round(generated, 1), **figures} | _machine()


def scrub_costs(dsn: str, before: int = 200, after: int = 2000) -> dict:
    """Erasures/s of the CRM's `erase` verb in this process, on the CRM as the sweep left it (people not planned):
    with a VACUUM after each erasure (`ScrubPolicy(erasures=1)`, as before the policy), then with the default."""
    people = CrmAdapter(PostgresStore(dsn, "crm"))
    emails = people.emails()[-(before + after) :]
    people.close()
    return {
        "erasures_per_s_vacuum_each": _erasures(dsn, emails[:before], ScrubPolicy(erasures=1)),
        "erasures_per_s_vacuum_by_policy": _erasures(dsn, emails[before:], ScrubPolicy()),
    }


def _erasures(dsn: str, emails: list[str], policy: ScrubPolicy) -> float:
    crm = CrmAdapter(PostgresStore(dsn, "crm", policy))
    started = time.perf_counter()
    for email in emails:
        crm.erase(Subject(email=email))
    crm.close()  # the last VACUUM counted in
    return round(len(emails) / (time.perf_counter() - started), 1)


def _machine() -> dict:
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}


if __name__ == "__main__":
    main()
