"""Tasks per second per adapter: the reference systems on PostgreSQL and SQLite, and the webhook adapter.

    python -m bench.adapters            (what `make bench-adapters` runs; about 2-4 minutes)

Every task goes through `handlers.runtime.run_task`, the runtime the worker uses: the subject and the
payload are sealed and opened with plain JSON callables (as in tests/unit/test_runtime.py), the verb runs
in `asyncio.to_thread`, and the result is a TaskResult. For each system and backend:

1. sequential: N distinct people, one task at a time: record_submission (the person's form), lookup,
   export, erase, each over all N people in turn; tasks/s and the latency of each task (p50, p99);
2. concurrent: N other people, the same four actions, with `--concurrency` run_task calls in flight at
   once (asyncio.gather behind a semaphore, as the worker's agents do): tasks/s and latency p99.

Systems and backends:
- crm, recruitment, newsletter (handlers/reference) on PostgreSQL, `PostgresStore(dsn, schema)`, in a
  throwaway cluster started here with `dsr.devstack.postgres.EmbeddedPostgres` (fsync off, see the
  report), and on SQLite files in a temporary directory (WAL, the default synchronous=FULL);
- the webhook adapter (handlers/webhook.py) POSTing signed requests to a WebhookReceiver on 127.0.0.1,
  in this process, that answers from a MemoryAdapter; next to it the same MemoryAdapter called
  directly, so the difference is the HTTP round trip with signing and verification.

To explain the numbers: the time erase spends in the store's scrub() (PostgreSQL: VACUUM; SQLite: WAL
checkpoint) is recorded, and one probe times a psycopg connection (connect, one query, close), which the
reference systems open for every transaction.

Results go to docs/benchmarks.md between the `adapters` markers (added at the end of the file if
absent); the rest of the file, the pipeline's `measured` section included, is kept as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import shlex
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.memory import MemoryAdapter
from handlers.reference import CrmAdapter, NewsletterAdapter, PostgresStore, RecruitmentAdapter
from handlers.runtime import run_task
from handlers.webhook import WebhookAdapter
from handlers.webhook_receiver import WebhookReceiver, running
from schemas.intake import EventType
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction, TaskStatus

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- adapters:begin -->", "<!-- adapters:end -->"
ACTIONS = (TaskAction.RECORD_SUBMISSION, TaskAction.LOOKUP, TaskAction.EXPORT, TaskAction.ERASE)
REFERENCE = ("crm", "recruitment", "newsletter")
SYSTEMS = (*REFERENCE, "webhook")
BACKENDS = ("postgres", "sqlite")
SECRET = b"bench-secret-not-for-production"
PG_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "shared_buffers",
    "max_connections",
    "autovacuum",
)


def say(text: str = "") -> None:
    print(text, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values (as bench.ceiling)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- tasks


def seal(ref: str, value: dict) -> Sealed:
    """Stands in for the vault, as in the runtime's unit tests: readable JSON."""
    return Sealed(subject_ref=ref, nonce="n", ciphertext=json.dumps(value))


def open_sealed(sealed: Sealed) -> dict:
    return json.loads(sealed.ciphertext)


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    ref: str


def people(tag: str, count: int) -> list[Person]:
    return [Person(f"bench.{tag}.{i:05d}@example.test", f"Personne {tag} {i}", f"ref-{tag}-{i}") for i in range(count)]


def form(system: str, person: Person) -> tuple[str, dict]:
    """The submission each system records: a quote request (CRM, newsletter, webhook) or a job application."""
    first, last = person.name.split(" ", 1)
    base = {
        "first_name": first,
        "last_name": last,
        "email": person.email,
        "phone": "+33 6 12 34 56 78",
        "language": "fr",
    }
    if system == "recruitment":
        return EventType.JOB_APPLICATION_SUBMITTED.value, base | {
            "position": "Technicien chauffagiste",
            "candidate_kind": "employee",
            "talent_pool_consent": True,
            "cv_ref": f"s3://careers-uploads/bench/{person.ref}.pdf",
        }
    return EventType.QUOTE_REQUESTED.value, base | {
        "service": "plomberie",
        "message": "Fuite sous l'évier.",
        "marketing_consent": {"email": True, "sms": False, "phone": False, "post": False, "wording_version": "2026-09"},
        "postal_address": {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon", "country": "FR"},
    }


def task(system: str, action: TaskAction, person: Person) -> Task:
    kind, data = form(system, person) if action is TaskAction.RECORD_SUBMISSION else (None, None)
    return Task(
        task_id=f"{person.ref}-{action.value}",
        subject_request_id=f"case-{person.ref}",
        system=system,
        action=action,
        subject_ref=person.ref,
        subject=seal(person.ref, {"email": person.email, "name": person.name}),
        payload=seal(person.ref, data) if data is not None else None,
        submission_type=kind,
        issued_at=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    tasks: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    failed: list[str] = field(default_factory=list)  # distinct errors

    @property
    def per_second(self) -> float:
        return self.tasks / self.seconds if self.seconds else math.nan


@dataclass
class Row:
    adapter: str
    backend: str
    action: str
    sequential: Run
    concurrent: Run | None = None
    scrub: dict[str, list[float]] = field(default_factory=dict)  # mode -> seconds in the store's scrub() per call


class ScrubTimer:
    """Times the reference store's `scrub()` (PostgreSQL: VACUUM; SQLite: WAL checkpoint), which erase calls
    after its transaction: wraps the method on the instance, nothing else changes."""

    def __init__(self, adapter: Any) -> None:
        self.samples: list[float] = []
        db = getattr(adapter, "_db", None)
        if db is not None and hasattr(db, "scrub"):
            self._inner = db.scrub
            db.scrub = self

    def __call__(self) -> None:
        started = time.perf_counter()
        try:
            self._inner()
        finally:
            self.samples.append(time.perf_counter() - started)

    def take(self) -> list[float]:
        samples, self.samples = self.samples, []
        return samples


async def _one(adapter: Any, t: Task, run: Run) -> None:
    started = time.perf_counter()
    result = await run_task(adapter, t, open_sealed=open_sealed, seal=seal)
    run.latencies.append(time.perf_counter() - started)
    if result.status is not TaskStatus.DONE and result.error not in run.failed:
        run.failed.append(result.error or "failed")


async def measure(adapter: Any, tasks: list[Task], concurrency: int) -> Run:
    """All tasks, at most `concurrency` run_task calls in flight (1: one after the other)."""
    run = Run(tasks=len(tasks))
    started = time.perf_counter()
    if concurrency <= 1:
        for t in tasks:
            await _one(adapter, t, run)
    else:
        gate = asyncio.Semaphore(concurrency)

        async def gated(t: Task) -> None:
            async with gate:
                await _one(adapter, t, run)

        await asyncio.gather(*(gated(t) for t in tasks))
    run.seconds = time.perf_counter() - started
    if run.failed:
        say(f"    ! {len(run.failed)} distinct error(s): {'; '.join(run.failed[:3])}")
    return run


async def bench_adapter(
    label: str, backend: str, adapter: Any, system: str, count: int, concurrency: int, warmup: int = 5
) -> list[Row]:
    """Warm-up (untimed), then the four actions over `count` people one at a time, then over `count` others
    with `concurrency` in flight."""
    for action in ACTIONS:
        await measure(adapter, [task(system, action, p) for p in people(f"{label}-{backend}-w", warmup)], 1)
    scrubs = ScrubTimer(adapter)
    rows = {}
    for mode, tag, width in (("sequential", "s", 1), ("concurrent", "c", concurrency)):
        persons = people(f"{label}-{backend}-{tag}", count)
        for action in ACTIONS:
            scrubs.take()
            run = await measure(adapter, [task(system, action, p) for p in persons], width)
            if mode == "sequential":
                rows[action] = Row(label, backend, action.value, run)
            else:
                rows[action].concurrent = run
            if samples := scrubs.take():
                rows[action].scrub[mode] = samples
            say(
                f"  {label:<11} {backend:<18} {mode:<10} {action.value:<17} {run.tasks:>5} tasks "
                f"{run.seconds:6.2f} s  {run.per_second:8,.0f}/s  p50 {1000 * percentile(run.latencies, 50):6.1f} ms"
                f"  p99 {1000 * percentile(run.latencies, 99):6.1f} ms"
            )
    return list(rows.values())


def reference_adapter(system: str, where: Any, work: Path) -> Any:
    if system == "crm":
        return CrmAdapter(where)
    if system == "recruitment":
        return RecruitmentAdapter(where, cv_dir=work / f"cv-{os.urandom(4).hex()}")
    return NewsletterAdapter(where, secret=SECRET)


# --------------------------------------------------------------------------- probes


def probe_postgres(dsn: str, connections: int = 200) -> dict[str, float]:
    """What one psycopg connection costs (connect, SELECT 1, close), against the query on an open one."""
    import psycopg

    started = time.perf_counter()
    for _ in range(connections):
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT 1").fetchone()
    connect_ms = 1000 * (time.perf_counter() - started) / connections
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        for _ in range(connections):
            conn.execute("SELECT 1").fetchone()
        query_ms = 1000 * (time.perf_counter() - started) / connections
    return {"connect_ms": connect_ms, "query_ms": query_ms}


def postgres_facts(dsn: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(PG_SETTINGS),)
        ).fetchall()
    facts = {
        name: f"{setting}{' × ' + unit if unit and unit not in ('', None) else ''}" for name, setting, unit in rows
    }
    if "shared_buffers" in facts:  # reported in 8 kB pages
        with contextlib.suppress(ValueError):
            facts["shared_buffers"] = f"{int(facts['shared_buffers'].split()[0]) * 8 // 1024} MB"
    return {name: facts[name] for name in PG_SETTINGS if name in facts}


def sqlite_facts(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(str(path))
    try:
        facts = {
            "SQLite": sqlite3.sqlite_version,
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                conn.execute("PRAGMA synchronous").fetchone()[0], "?"
            ),
        }
    finally:
        conn.close()
    return facts


def filesystem(path: Path) -> str:
    """The mount under `path`, from /proc/mounts: ext4 on a disk makes SQLite's fsyncs real, tmpfs would not."""
    best = ("?", "?")
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, kind = line.split()[:3]
            if str(path.resolve()).startswith(mount.rstrip("/") + "/") and len(mount) >= len(best[0]):
                best = (mount, f"{kind} ({device} on {mount})")
    return best[1]


def machine() -> dict[str, str]:
    """bench.pipeline's machine facts (CPU, memory, OS, Python) without its Kafka and Java lines."""
    try:
        from bench.pipeline import machine as pipeline_machine

        info = {k: v for k, v in pipeline_machine().items() if k not in ("Java", "Kafka", "packages")}
    except Exception:  # noqa: BLE001 - its imports (Kafka clients, the integration helpers) may be unavailable
        info = {
            "nproc": str(os.cpu_count()),
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(),
        }
    versions = []
    for package in ("psycopg", "psycopg-binary", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    info["packages"] = ", ".join(versions) + f", SQLite {sqlite3.sqlite_version}"
    return info


# --------------------------------------------------------------------------- report


def _f(value: float, digits: int = 0) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _ms(run: Run | None, q: float) -> str:
    if run is None:
        return "–"
    value = 1000 * percentile(run.latencies, q)
    return _f(value, 1 if value < 100 else 0)


BACKEND_LABEL = {
    "postgres": "PostgreSQL",
    "sqlite": "SQLite",
    "http→memory": "HTTP → memory",
    "memory (direct)": "memory (direct)",
}


def table(rows: list[Row], concurrency: int) -> list[str]:
    head = [
        "adapter",
        "backend",
        "action",
        "tasks/s sequential",
        f"tasks/s, {concurrency} in flight",
        "p50 ms",
        "p99 ms",
        f"p99 ms, {concurrency} in flight",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * (len(head) - 3)]
    for r in rows:
        failed = " (errors)" if r.sequential.failed or (r.concurrent and r.concurrent.failed) else ""
        lines.append(
            "| "
            + " | ".join(
                [
                    r.adapter,
                    BACKEND_LABEL.get(r.backend, r.backend),
                    r.action + failed,
                    _f(r.sequential.per_second),
                    _f(r.concurrent.per_second) if r.concurrent else "–",
                    _ms(r.sequential, 50),
                    _ms(r.sequential, 99),
                    _ms(r.concurrent, 99),
                ]
            )
            + " |"
        )
    return lines


def _rate(rows: list[Row], adapter: str, backend: str, action: str, concurrent: bool = False) -> float:
    for r in rows:
        if (r.adapter, r.backend, r.action) == (adapter, backend, action):
            run = r.concurrent if concurrent else r.sequential
            return run.per_second if run else math.nan
    return math.nan


def _p50(rows: list[Row], adapter: str, backend: str, action: str) -> float:
    for r in rows:
        if (r.adapter, r.backend, r.action) == (adapter, backend, action):
            return 1000 * percentile(r.sequential.latencies, 50)
    return math.nan


def observations(ctx: dict) -> list[str]:
    """Ratios computed from this run; the reading of them is in the text after the section."""
    rows: list[Row] = ctx["rows"]
    systems = [s for s in REFERENCE if any(r.adapter == s for r in rows)]
    parts = (_backends_compared, _concurrency_gain, _slow_tasks, _connection_cost, _scrub_cost, _webhook_cost)
    return [line for part in parts for line in part(ctx, rows, systems)]


def _backends_compared(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """SQLite against PostgreSQL, sequential."""
    out: list[str] = []
    if "postgres" in ctx["backends"] and "sqlite" in ctx["backends"] and systems:
        parts = []
        for action in ("lookup", "erase"):
            ratios = [_rate(rows, s, "sqlite", action) / _rate(rows, s, "postgres", action) for s in systems]
            ratios = [x for x in ratios if not math.isnan(x)]
            if ratios:
                parts.append(f"{action} {min(ratios):.1f}–{max(ratios):.1f}×")
        out.append("SQLite over PostgreSQL, sequential tasks/s: " + ", ".join(parts) + ".")
    return out


def _concurrency_gain(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """Tasks in flight against one at a time, per backend."""
    out: list[str] = []
    for backend in ("postgres", "sqlite"):
        if backend not in ctx["backends"]:
            continue
        gains = {
            s: {a.value: _rate(rows, s, backend, a.value, True) / _rate(rows, s, backend, a.value) for a in ACTIONS}
            for s in systems
        }
        flat = [g for per in gains.values() for g in per.values() if not math.isnan(g)]
        if flat:
            erase = [per["erase"] for per in gains.values() if not math.isnan(per["erase"])]
            out.append(
                f"{BACKEND_LABEL[backend]}: {ctx['concurrency']} in flight against one at a time: "
                f"{min(flat):.2f}–{max(flat):.2f}× the sequential tasks/s"
                + (f" (erase {min(erase):.2f}–{max(erase):.2f}×)" if erase else "")
                + "."
            )
    return out


def _slow_tasks(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """Tasks of 1 s or more with several in flight."""
    out: list[str] = []
    slow = [(r, [x for x in r.concurrent.latencies if x >= 1.0]) for r in rows if r.concurrent]
    slow = [(r, xs) for r, xs in slow if xs]
    if slow:
        out.append(
            f"Tasks that took 1 s or more with {ctx['concurrency']} in flight: "
            + "; ".join(
                f"{r.adapter} on {BACKEND_LABEL.get(r.backend, r.backend)} {r.action}: {len(xs)} of "
                f"{r.concurrent.tasks}, up to {max(xs):.1f} s"
                for r, xs in slow
            )
            + "."
        )
    else:
        out.append(f"No task took 1 s or more with {ctx['concurrency']} in flight.")
    return out


def _connection_cost(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """What a new PostgreSQL connection costs against a query on an open one."""
    out: list[str] = []
    probes = ctx.get("probes")
    if probes:
        lookups = [_p50(rows, s, "postgres", "lookup") for s in systems]
        out.append(
            f"One psycopg connection (connect, `SELECT 1`, close) costs {probes['connect_ms']:.1f} ms (fresh cluster), "
            f"against {probes['query_ms']:.2f} ms for the same query on an open connection; the reference "
            f"systems open one per transaction (lookup p50 on PostgreSQL: "
            f"{', '.join(_f(x, 1) for x in lookups)} ms for {', '.join(systems)})."
        )
    return out


def _scrub_cost(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """The scrub after each erase (VACUUM, WAL checkpoint)."""
    out: list[str] = []
    for backend, what in (
        ("postgres", "VACUUM of the system's tables, on a connection of its own"),
        ("sqlite", "`PRAGMA wal_checkpoint(TRUNCATE)`"),
    ):
        parts = []
        for r in rows:
            if r.backend == backend and r.action == "erase" and r.scrub.get("sequential"):
                share = sum(r.scrub["sequential"]) / sum(r.sequential.latencies)
                text = (
                    f"{r.adapter} {1000 * percentile(r.scrub['sequential'], 50):.1f} ms "
                    f"({100 * share:.0f}% of erase time)"
                )
                if r.scrub.get("concurrent"):
                    text += (
                        f", {1000 * percentile(r.scrub['concurrent'], 50):.1f} ms with {ctx['concurrency']} in flight"
                    )
                parts.append(text)
        if parts:
            out.append(
                f"{BACKEND_LABEL[backend]}, the scrub after each erase ({what}), p50 one at a time: "
                + "; ".join(parts)
                + "."
            )
    return out


def _webhook_cost(ctx: dict, rows: list[Row], systems: list[str]) -> list[str]:
    """What the signed HTTP round trip adds over the adapter itself."""
    out: list[str] = []
    webhook = [
        (a.value, _rate(rows, "webhook", "http→memory", a.value), _rate(rows, "webhook", "memory (direct)", a.value))
        for a in ACTIONS
    ]
    webhook = [(a, h, d) for a, h, d in webhook if not math.isnan(h) and not math.isnan(d)]
    if webhook:
        extra = [1000 / h - 1000 / d for _, h, d in webhook]
        out.append(
            "Webhook: a signed HTTP POST to the receiver in this process (new connection per call, "
            "signature made and checked, JSON both ways) adds "
            f"{min(extra):.2f}–{max(extra):.2f} ms per task over calling the MemoryAdapter directly "
            f"({', '.join(f'{a} {h:,.0f}/s against {d:,.0f}/s' for a, h, d in webhook)}, sequential)."
        )
    return out


def section(ctx: dict) -> str:
    lines = [
        BEGIN,
        "",
        "## Adapters: tasks per second",
        "",
        "This section is rewritten by every run of `python -m bench.adapters` (bench/README.md); the text "
        "after its end marker is kept.",
        "",
        *_run_lines(ctx),
        *_store_lines(ctx),
    ]
    lines += [
        "",
        f"Per system and backend: {ctx['people']} distinct people one task at a time (record_submission "
        "of a form, then lookup, export, erase of each), then "
        f"{ctx['people']} other people with {ctx['concurrency']} `run_task` calls in flight "
        "(asyncio.gather behind a semaphore). Latency is one `run_task` call. Each system starts from empty "
        "tables; a few untimed tasks warm it up first.",
        "",
    ]
    lines += table(ctx["rows"], ctx["concurrency"])
    lines += [""]
    if any(r.sequential.failed or (r.concurrent and r.concurrent.failed) for r in ctx["rows"]):
        lines += [
            '**Some tasks failed** (rows marked "errors"): '
            + "; ".join(
                sorted({e for r in ctx["rows"] for run in (r.sequential, r.concurrent) if run for e in run.failed})
            ),
            "",
        ]
    obs = observations(ctx)
    if obs:
        lines += ["Computed from this run:", ""] + [f"- {o}" for o in obs] + [""]
    lines.append(END)
    return "\n".join(lines)


def _run_lines(ctx: dict) -> list[str]:
    lines: list[str] = []
    lines += [
        f"- **Date:** {ctx['date']}",
        f"- **Command:** `{ctx['command']}` (from the repository root; `make bench-adapters` runs "
        "`.venv/bin/python -m bench.adapters`)",
        f"- **Total run time:** {ctx['total']:.0f} s",
    ]
    for key, value in ctx["machine"].items():
        lines.append(f"- **{key}:** {value}")
    lines.append(
        f"- **Runtime:** `handlers.runtime.run_task` (retries 3, timeout 60 s), verbs in "
        f"`asyncio.to_thread`: the loop's default executor, {ctx['executor_workers']} threads on this "
        f"machine (min(32, cores + 4)), so at most that many tasks of the {ctx['concurrency']} in flight "
        "run a verb at once. Sealing and opening: plain JSON callables (no encryption)."
    )
    return lines


def _store_lines(ctx: dict) -> list[str]:
    """How each backend was set up (PostgreSQL, SQLite, the webhook receiver)."""
    lines: list[str] = []
    if ctx.get("postgres"):
        pg = ctx["postgres"]
        lines.append(
            "- **PostgreSQL:** "
            + ", ".join(f"{k} {v}" for k, v in pg.items())
            + " — `dsr.devstack.postgres.EmbeddedPostgres`, a throwaway cluster on 127.0.0.1 (TCP), data "
            f"in {ctx['pg_fs']}. **fsync, synchronous_commit and full_page_writes are off**: commits do not "
            "wait for the disk, which flatters every write (record_submission, erase) against a "
            "production server; reads are unaffected. One schema per system (`PostgresStore(dsn, "
            "schema)`), a new connection per transaction, advisory lock per subject, VACUUM after erase."
        )
    if ctx.get("sqlite"):
        sq = ctx["sqlite"]
        lines.append(
            "- **SQLite:** "
            + ", ".join(f"{k} {v}" for k, v in sq.items())
            + f", secure_delete on; one file per system on {ctx['sqlite_fs']}, one connection behind a "
            "lock (`SqliteDatabase`), `wal_checkpoint(TRUNCATE)` after erase."
        )
    if ctx.get("webhook"):
        lines.append(
            "- **Webhook:** `WebhookAdapter` → `WebhookReceiver` (`handlers.webhook_receiver.running`, "
            "ThreadingHTTPServer) → `MemoryAdapter`, all in this process on 127.0.0.1, HMAC-SHA256 "
            "signatures, replay ledger on; `memory (direct)` is the same MemoryAdapter without HTTP."
        )
    return lines


def write_doc(ctx: dict, path: Path = DOC) -> None:
    """Replace the text between the adapters markers; without them, add the section at the end of the file."""
    text = path.read_text() if path.exists() else ""
    new = section(ctx)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        content = head + new + rest.split(END, 1)[1]
    else:
        content = (text.rstrip("\n") + "\n\n" if text else "# Benchmarks\n\n") + new + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def postgres_server(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from dsr.devstack.postgres import EmbeddedPostgres

    say("starting PostgreSQL (dsr.devstack.postgres.EmbeddedPostgres) ...")
    with EmbeddedPostgres(database="dsr_bench") as server:
        say(f"  up on 127.0.0.1:{server.port}")
        yield server


async def bench(args: argparse.Namespace, work: Path, ctx: dict) -> list[Row]:
    rows: list[Row] = []
    ctx["executor_workers"] = concurrent.futures.ThreadPoolExecutor()._max_workers
    systems = [s for s in args.systems if s in REFERENCE]
    with postgres_server("postgres" in args.backends and bool(systems)) as server:
        if server is not None:
            ctx["postgres"] = postgres_facts(server.dsn)
            ctx["pg_fs"] = filesystem(server.data_dir)
            say("  " + ", ".join(f"{k} {v}" for k, v in ctx["postgres"].items()))
            say("probing: psycopg connect + SELECT 1 + close, on the fresh cluster ...")
            ctx["probes"] = probe_postgres(server.dsn)
            say("  " + ", ".join(f"{k} {v:.2f}" for k, v in ctx["probes"].items()))
        for system in systems:
            for backend in args.backends:
                rows += await _bench_reference(args, work, ctx, server, system, backend)
    if "webhook" in args.systems:
        ctx["webhook"] = True
        with running(WebhookReceiver(MemoryAdapter("billing"), SECRET)) as url:
            rows += await bench_adapter(
                "webhook",
                "http→memory",
                WebhookAdapter("billing", url, SECRET),
                "billing",
                args.people,
                args.concurrency,
            )
        rows += await bench_adapter(
            "webhook", "memory (direct)", MemoryAdapter("billing"), "billing", args.people, args.concurrency
        )
    return rows


async def _bench_reference(
    args: argparse.Namespace, work: Path, ctx: dict, server: Any, system: str, backend: str
) -> list[Row]:
    where: Any = PostgresStore(server.dsn, f"bench_{system}") if backend == "postgres" else work / f"{system}.sqlite3"
    adapter = reference_adapter(system, where, work)
    try:
        rows = await bench_adapter(system, backend, adapter, system, args.people, args.concurrency)
    finally:
        adapter.close()
    if backend == "sqlite" and "sqlite" not in ctx:
        ctx["sqlite"] = sqlite_facts(work / f"{system}.sqlite3")
        ctx["sqlite_fs"] = filesystem(work)
    return rows


def _list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        if unknown := [v for v in values if v not in choices]:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)} (choose from {', '.join(choices)})")
        return values

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.adapters", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=500, help="distinct people per action and mode (500)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="run_task calls in flight in the concurrent mode (8)"
    )
    parser.add_argument(
        "--systems", type=_list(SYSTEMS), default=list(SYSTEMS), help=f"comma-separated, from {','.join(SYSTEMS)} (all)"
    )
    parser.add_argument(
        "--backends",
        type=_list(BACKENDS),
        default=list(BACKENDS),
        help="for the reference systems: postgres,sqlite (both)",
    )
    parser.add_argument("--doc", type=Path, default=DOC, help="the report to update (docs/benchmarks.md)")
    parser.add_argument("--no-report", action="store_true", help="print only")
    return parser.parse_args(argv)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the `with` blocks: PostgreSQL and the receiver are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(ValueError):  # only in the main thread
        signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    ctx: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.adapters"
        + "".join(f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])),
        "people": args.people,
        "concurrency": args.concurrency,
        "backends": args.backends,
    }
    say(
        f"bench.adapters: {args.people} people per action and mode, {args.concurrency} in flight when concurrent; "
        f"systems {','.join(args.systems)}; backends {','.join(args.backends)}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="dsr-bench-adapters-") as work:
            ctx["rows"] = asyncio.run(bench(args, Path(work), ctx))
    except KeyboardInterrupt:
        say("interrupted: nothing written")
        return 130
    ctx["total"] = time.monotonic() - started
    ctx["machine"] = machine()
    say()
    for line in table(ctx["rows"], args.concurrency):
        say(line)
    for line in observations(ctx):
        say(f"- {line}")
    if not args.no_report:
        write_doc(ctx, args.doc)
        say(f"\nwritten: {args.doc} (between {BEGIN} and {END}); total {ctx['total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
