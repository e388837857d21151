"""The retention sweep carried out through the real path: `dsr retention run` publishes, a `dsr run` worker erases.

Used by `python -m bench.retention --carry-out --as-of DATE [--kill-halfway]` on the CRM bench/retention.py
generated: a worker (`dsr run`, DSR_SYSTEMS=crm, the CRM and the key vault and the answer record on the same
PostgreSQL) on an embedded broker; `dsr retention plan --as-of DATE --json`, `approve`, then `run`. With
`--kill-halfway`, the sweep's publisher is SIGKILLed once half its batches are recorded and run again (it resumes
after the last recorded batch), and the worker is SIGKILLed once half the tasks are answered and started again
(redelivered tasks are answered from the answer record, handlers/runtime.py). Then the check: every planned
person gone from every CRM table, everyone else still there, one answer per task on dsr.task-results (a
redelivered task's answer repeated identically), each with items erased, and no task missing or extra.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.retention import CHANNELS, SECRET, _email
from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.smtp_sink import Mailbox, SmtpSink
from dsr.kafka_records import KafkaRecords
from dsr.retention import plan_from_json
from gdpr.sealing import subject_ref
from gdpr.sweep import sweep_request_id, task_id

ROOT = Path(__file__).resolve().parents[1]
CRM_TABLES = ("people", "quote_requests", "consents", "invoices")  # those the generator fills
WAIT = 3600.0  # at most this long for the sweep to be carried out
assert len(CHANNELS) == 4  # four consents a person: the check below counts them


def worker_env(dsn: str, bootstrap: str, smtp_port: int, data_dir: Path) -> dict[str, str]:
    """What `dsr run` refuses to start without, the systems on PostgreSQL, the daily clock off."""
    return {
        **os.environ,
        "DSR_KAFKA_BOOTSTRAP": bootstrap,
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_SMTP_PORT": str(smtp_port),
        "DSR_SECRET_KEY": SECRET.decode(),
        "DSR_CONTROLLER_NAME": "Bench SARL",
        "DSR_CONTROLLER_ADDRESS": "1 rue du Banc, 69000 Lyon, France",
        "DSR_PRIVACY_URL": "https://www.example.test/confidentialite",
        "DSR_PUBLIC_URL": "https://privacy.example.test",
        "DSR_DPO_EMAIL": "dpo@bench.example",
        "DSR_DATA_DIR": str(data_dir),
        "DSR_POSTGRES_DSN": dsn,
        "DSR_VAULT_DSN": dsn,
        "DSR_SYSTEMS": "crm",
        "DSR_RETENTION_CLOCK": "false",
        "DSR_SAMPLE_DATA": "false",
        "DSR_LOG_LEVEL": "warning",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Child:
    """A subprocess whose peak RSS (VmHWM) is read while it runs: wait4's ru_maxrss would count the bench's own
    memory, which a forked child starts with."""

    process: subprocess.Popen
    peak_mb: float = 0.0

    @classmethod
    def start(cls, args: list[str], env: dict, log: Path, errors: Path | None = None) -> Child:
        with open(log, "ab") as out, open(errors or log, "ab") as err:
            return cls(subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err))

    def running(self) -> bool:
        self._measure()
        return self.process.poll() is None

    def end(self, sig: int | None = None) -> int:
        self._measure()
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait()

    def wait(self) -> int:
        while self.running():
            time.sleep(0.05)
        return self.process.returncode

    def _measure(self) -> None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


@dataclass
class CarryOut:
    dsn: str
    people: int
    as_of: str
    kill_halfway: bool
    root: Path
    env: dict
    web_port: int = 0
    figures: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)  # (seconds, answers) while the worker runs

    def dsr(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dsr.cli", *args]

    def cli(self, name: str, *args: str, **env: str) -> Child:
        return Child.start(self.dsr(*args), {**self.env, **env}, self.root / f"{name}.log")

    def worker(self, name: str) -> Child:
        self.web_port = free_port()
        env = {**self.env, "DSR_WEB_PORT": str(self.web_port), "DSR_ADMIN_PORT": str(free_port())}
        return Child.start(self.dsr("run"), env, self.root / f"{name}.log")

    def healthy(self, worker: Child, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.running():
                raise RuntimeError(f"the worker exited: see {self.root}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError("the worker did not become healthy")

    def answers(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            try:
                return conn.execute("SELECT count(*) FROM dsr_answers.answers WHERE system = 'crm'").fetchone()[0]
            except psycopg.errors.UndefinedTable:
                return 0

    def sweep_record(self) -> dict:
        path = self.root / "data" / "retention" / "sweeps" / f"{self.as_of}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def plan(self) -> dict:
        started = time.perf_counter()
        command = self.dsr("retention", "plan", "--as-of", self.as_of, "--json")
        planner = Child.start(command, self.env, self.root / "plan.json", self.root / "plan.log")
        if planner.wait():
            raise RuntimeError(f"dsr retention plan failed: see {self.root}")
        summary = json.loads((self.root / "plan.json").read_text().splitlines()[-1])
        self.figures |= {
            "cli_plan_s": round(time.perf_counter() - started, 1),
            "cli_plan_peak_rss_mb": round(planner.peak_mb),
            "planned_people": summary["people"],
        }
        if self.cli("approve", "retention", "approve", summary["plan_id"], "--by", "bench").end():
            raise RuntimeError(f"dsr retention approve failed: see {self.root}")
        return summary

    def run(self) -> dict:
        worker = self.worker("worker-1")
        self.healthy(worker)
        summary = self.plan()
        saved = self.root / "data" / "retention" / "plans" / f"{summary['plan_id']}.json"
        plan = plan_from_json(json.loads(saved.read_text()))
        expected = len(plan.items)
        worker = self.sweep(worker, expected)
        time.sleep(5)  # the last answers published
        worker.end(signal.SIGTERM)
        self.figures["worker_2_peak_rss_mb"] = round(worker.peak_mb)
        self.figures |= check(self.dsn, self.env["DSR_KAFKA_BOOTSTRAP"], plan, self.people)
        return self.figures

    def sweep(self, worker: Child, expected: int) -> Child:
        """The publisher, killed once at half its batches if asked, run again; the worker likewise at half the tasks."""
        publisher, started = self.cli("run-1", "retention", "run", "--as-of", self.as_of), time.monotonic()
        killed_publisher = killed_worker = not self.kill_halfway
        progress: list[tuple[float, int]] = []  # (seconds, batches recorded), each time the record changes
        answered, last_count, kills = 0, 0.0, {}
        while time.monotonic() - started < WAIT:
            record, now = self.sweep_record(), time.monotonic() - started
            if not publisher.running() and publisher.process.returncode != 0:
                raise RuntimeError(f"dsr retention run exited with {publisher.process.returncode}: see {self.root}")
            if record and (not progress or progress[-1][1] != record["batches_done"]):
                progress.append((now, record["batches_done"]))
            if not killed_publisher and record.get("finished"):  # too fast to catch: said in the figures
                killed_publisher, self.figures["publisher_killed_at_batch"] = True, None
            if not killed_publisher and record and record["batches_done"] >= max(1, record["total"] // 2):
                publisher.end(signal.SIGKILL)
                killed_publisher, kills["publisher"] = True, (now, record["batches_done"])
                self.figures |= {"publisher_killed_at_batch": record["batches_done"], "batches": record["total"]}
                self.figures["publisher_1_peak_rss_mb"] = round(publisher.peak_mb)
                publisher = self.cli("run-2", "retention", "run", "--as-of", self.as_of)
            if now - last_count >= 1:
                last_count, answered = now, self.answers()
                self.samples.append((round(now, 1), answered))
            if not killed_worker and answered >= expected // 2:
                worker.end(signal.SIGKILL)
                killed_worker, kills["worker"] = True, (now, answered)
                self.figures |= {"worker_killed_at_answers": answered, "worker_1_peak_rss_mb": round(worker.peak_mb)}
                worker = self.worker("worker-2")
            if answered >= expected and not publisher.running():
                break
            time.sleep(0.05)
        else:
            raise TimeoutError(f"{answered} of {expected} tasks answered after {WAIT} s")
        batch = int(self.env.get("DSR_RETENTION_BATCH_SIZE", "500"))
        self.figures |= {
            **rates("published_tasks_per_s", progress, kills.get("publisher"), batch),
            **rates("erasures_per_s", self.samples, kills.get("worker"), 1),
            **self.publisher_end(publisher, expected, time.monotonic() - started),
        }
        return worker

    def publisher_end(self, publisher: Child, expected: int, seconds: float) -> dict:
        code = publisher.wait()
        out = (self.root / ("run-2.log" if self.kill_halfway else "run-1.log")).read_text()
        return {
            "publisher_exit": code,
            "publisher_said": out.strip().splitlines()[-2:],
            "publisher_2_peak_rss_mb": round(publisher.peak_mb),
            "tasks": expected,
            "sweep_s": round(seconds, 1),
            "answers_over_time": self.samples[:: max(1, len(self.samples) // 40)],
        }


def rates(name: str, samples: list[tuple[float, int]], kill: tuple[float, int] | None, unit: int) -> dict:
    """Per unit of time while it moved, before the kill and after it (from the first progress after the kill, the
    restart's gap given apart): (seconds, count) samples, counts in units of `unit`."""
    moving = [(t, n) for t, n in samples if n > 0]
    if kill is None:
        return {name: _rate(moving, unit)}
    before = [(t, n) for t, n in moving if t <= kill[0]] + [kill]
    after = [(t, n) for t, n in moving if t > kill[0] and n > kill[1]]
    gap = round(after[0][0] - kill[0], 1) if after else None
    return {
        f"{name}_before_kill": _rate(before, unit),
        f"{name}_after_kill": _rate(after, unit),
        f"{name}_restart_gap_s": gap,
    }


def _rate(samples: list[tuple[float, int]], unit: int) -> float | None:
    if len(samples) < 2 or samples[-1][0] <= samples[0][0]:
        return None
    (t0, n0), (t1, n1) = samples[0], samples[-1]
    return round((n1 - n0) * unit / (t1 - t0), 1)


def check(dsn: str, bootstrap: str, plan, people: int) -> dict:
    """Everyone planned erased, exactly once; no one else touched."""
    by_ref = {subject_ref(SECRET, _email(n)): _email(n) for n in range(people)}
    planned = {by_ref[item.subject_ref] for item in plan.items}
    with psycopg.connect(dsn) as conn:
        count = "SELECT count(*) FROM crm.{} WHERE email = ANY(%s)"
        left = {t: conn.execute(count.format(t), (list(planned),)).fetchone()[0] for t in CRM_TABLES}
        kept = conn.execute("SELECT count(*) FROM crm.people").fetchone()[0]
        recorded = conn.execute("SELECT result FROM dsr_answers.answers WHERE system = 'crm'").fetchall()
    wanted = {task_id(plan.plan_id, item.system, item.subject_ref) for item in plan.items}
    request = sweep_request_id(plan.plan_id)
    answers: dict[str, set] = defaultdict(set)
    copies = 0
    for message in KafkaRecords(bootstrap).everything_in("dsr.task-results"):
        result = json.loads(message.value)
        if result["subject_request_id"] == request:
            answers[result["task_id"]].add((result["status"], result.get("erased_items"), result["completed_at"]))
            copies += 1
    return {
        "planned_left_in_crm": left,
        "others_kept": kept == people - len(planned),
        "people_left": kept,
        "task_results": copies,
        "tasks_answered": len(answers),
        "tasks_missing": len(wanted - answers.keys()),
        "tasks_extra": len(answers.keys() - wanted),
        "tasks_with_differing_answers": sum(len(a) > 1 for a in answers.values()),
        "tasks_not_done_or_nothing_erased": sum(
            any(status != "done" or not erased for status, erased, _ in a) for a in answers.values()
        ),
        "answer_records": len(recorded),
        "answer_records_nothing_erased": sum(not json.loads(r[0]).get("erased_items") for r in recorded),
    }


def carry_out(dsn: str, people: int, as_of: str, kill_halfway: bool, batch: int = 500) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        broker = EmbeddedKafka(root / "kafka", port=free_port()).start()
        smtp = SmtpSink(Mailbox()).start()
        env = worker_env(dsn, broker.bootstrap, smtp.port, root / "data") | {"DSR_RETENTION_BATCH_SIZE": str(batch)}
        try:
            figures = CarryOut(dsn, people, as_of, kill_halfway, root, env).run()
            figures |= ceiling(broker.bootstrap)
        except BaseException:
            keep = Path(tempfile.mkdtemp(prefix="bench-retention-logs-"))
            for log in root.glob("*.log"):
                (keep / log.name).write_bytes(log.read_bytes())
            print(f"logs kept in {keep}", file=sys.stderr)
            raise
        finally:
            smtp.stop()
            broker.stop()
    return figures


def ceiling(bootstrap: str) -> dict:
    import asyncio

    from bench.ceiling import run_ceiling

    found = asyncio.run(run_ceiling(bootstrap, messages=20_000, progress=lambda *a: None))
    return {"ceiling_messages_per_s": round(found.messages_per_s)}
