"""The retention sweep's shared state on PostgreSQL: plans, approvals, each day's sweep, who was asked once.

Where the key vault is (DSR_VAULT_DSN, schema dsr_retention), so that whichever worker leads the group, and
every `dsr retention` command, sees the same approvals, resumes the same sweep and asks nobody twice. The file
twins (dsr.retention.RetentionStore, dsr.recontact.AskedStore) serve one worker or `dsr dev`; both pass
tests/contract/test_retention_store.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime

from dsr.pg_link import PgLink
from dsr.retention import PLANS_KEPT, plan_from_json, plan_json
from gdpr.recontact import Ask
from gdpr.sweep import Plan

PG_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dsr_retention;
CREATE TABLE IF NOT EXISTS dsr_retention.plans (
    plan_id TEXT PRIMARY KEY, body TEXT NOT NULL, saved_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS dsr_retention.approvals (
    plan_id TEXT PRIMARY KEY, approved_by TEXT NOT NULL, approved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dsr_retention.sweeps (
    as_of DATE PRIMARY KEY, plan_id TEXT NOT NULL, batches_done INTEGER NOT NULL DEFAULT 0,
    total INTEGER, finished BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS dsr_retention.recontact_asked (subject_ref TEXT PRIMARY KEY, end_date DATE NOT NULL);
"""
SETTING = "DSR_VAULT_DSN"
_PRUNE = """DELETE FROM dsr_retention.plans WHERE saved_at < to_timestamp(%s)
AND plan_id NOT IN (SELECT plan_id FROM dsr_retention.sweeps WHERE NOT finished) RETURNING plan_id"""
# A batch recorded never moves the count back: two leaders overlapping in a rebalance may both publish a batch.
_BATCH = """INSERT INTO dsr_retention.sweeps (as_of, plan_id, batches_done, total) VALUES (%s, %s, %s, %s)
ON CONFLICT (as_of) DO UPDATE SET plan_id = EXCLUDED.plan_id, total = EXCLUDED.total,
batches_done = CASE WHEN dsr_retention.sweeps.plan_id = EXCLUDED.plan_id
    THEN GREATEST(dsr_retention.sweeps.batches_done, EXCLUDED.batches_done) ELSE EXCLUDED.batches_done END
WHERE NOT dsr_retention.sweeps.finished OR dsr_retention.sweeps.plan_id <> EXCLUDED.plan_id"""
_FINISH = """INSERT INTO dsr_retention.sweeps VALUES (%s, %s, %s, %s, TRUE)
ON CONFLICT (as_of) DO UPDATE SET plan_id = EXCLUDED.plan_id, batches_done = EXCLUDED.batches_done,
total = EXCLUDED.total, finished = TRUE"""
_ASK = """INSERT INTO dsr_retention.recontact_asked VALUES (%s, %s)
ON CONFLICT (subject_ref) DO UPDATE SET end_date = EXCLUDED.end_date"""


class PostgresRetentionStore:
    """The file RetentionStore's twin, shared by every worker: each call one statement (dsr.pg_link), nothing
    kept in memory, so an approval or a batch recorded by one worker is seen by the next statement of any other."""

    def __init__(self, dsn: str, setting: str = SETTING, clock: Callable[[], float] = time.time) -> None:
        self._link, self._clock = PgLink(dsn, setting, PG_SCHEMA), clock

    def save_plan(self, plan: Plan) -> None:
        """The plan by subject_ref (no address), stamped by the worker's clock; stale ones pruned as files are."""
        upsert = """INSERT INTO dsr_retention.plans VALUES (%s, %s, to_timestamp(%s))
        ON CONFLICT (plan_id) DO UPDATE SET body = EXCLUDED.body, saved_at = EXCLUDED.saved_at"""
        row = (plan.plan_id, json.dumps(plan_json(plan), sort_keys=True), self._clock())
        self._link.run(lambda conn: conn.execute(upsert, row))
        self.prune_plans()

    def prune_plans(self) -> list[str]:
        """As the file store: a plan not saved again for PLANS_KEPT goes, unless its day's sweep was cut short."""
        cutoff = self._clock() - PLANS_KEPT.total_seconds()
        rows = self._link.run(lambda conn: conn.execute(_PRUNE, (cutoff,)).fetchall())
        return sorted(plan_id for (plan_id,) in rows)

    def plan(self, plan_id: str) -> dict | None:
        query = "SELECT body FROM dsr_retention.plans WHERE plan_id = %s"
        row = self._link.run(lambda conn: conn.execute(query, (plan_id,)).fetchone())
        return json.loads(row[0]) if row else None

    def load_plan(self, plan_id: str) -> Plan | None:
        body = self.plan(plan_id)
        return plan_from_json(body) if body else None

    def approve(self, plan_id: str, by: str, at: datetime) -> None:
        upsert = """INSERT INTO dsr_retention.approvals VALUES (%s, %s, %s)
        ON CONFLICT (plan_id) DO UPDATE SET approved_by = EXCLUDED.approved_by, approved_at = EXCLUDED.approved_at"""
        self._link.run(lambda conn: conn.execute(upsert, (plan_id, by, at.isoformat())))

    def approvals(self) -> dict[str, dict]:
        query = "SELECT plan_id, approved_by, approved_at FROM dsr_retention.approvals"
        rows = self._link.run(lambda conn: conn.execute(query).fetchall())
        return {plan_id: {"by": by, "at": at} for plan_id, by, at in rows}

    def claim(self, as_of: date, plan_id: str) -> str:
        """The day's sweep is the first plan claimed for it (an insert-once row): two leaders overlapping in a
        rebalance carry one plan on, never each their own from scratch. Returns the plan the day carries."""
        insert = "INSERT INTO dsr_retention.sweeps (as_of, plan_id) VALUES (%s, %s) ON CONFLICT (as_of) DO NOTHING"
        self._link.run(lambda conn: conn.execute(insert, (as_of, plan_id)))
        return self._sweep(as_of)["plan_id"]

    def unfinished(self, as_of: date) -> str | None:
        record = self._sweep(as_of)
        return record["plan_id"] if record and not record["finished"] else None

    def batches_done(self, as_of: date, plan_id: str) -> int:
        record = self._sweep(as_of)
        return record["batches_done"] if record and record["plan_id"] == plan_id else 0

    def record_batch(self, as_of: date, plan_id: str, index: int, total: int) -> None:
        self._link.run(lambda conn: conn.execute(_BATCH, (as_of, plan_id, index + 1, total)))

    def finish(self, as_of: date, plan_id: str, total: int) -> None:
        self._link.run(lambda conn: conn.execute(_FINISH, (as_of, plan_id, total, total)))

    def _sweep(self, as_of: date) -> dict | None:
        query = "SELECT plan_id, batches_done, total, finished FROM dsr_retention.sweeps WHERE as_of = %s"
        row = self._link.run(lambda conn: conn.execute(query, (as_of,)).fetchone())
        return dict(zip(("plan_id", "batches_done", "total", "finished"), row, strict=True)) if row else None

    def close(self) -> None:
        self._link.close()


class PostgresAskedStore:
    """The file AskedStore's twin: who was asked, by subject_ref, with the end asked about; ends past pruned."""

    def __init__(self, dsn: str, setting: str = SETTING) -> None:
        self._link = PgLink(dsn, setting, PG_SCHEMA)

    def asked(self) -> dict[str, date]:
        query = "SELECT subject_ref, end_date FROM dsr_retention.recontact_asked"
        return dict(self._link.run(lambda conn: conn.execute(query).fetchall()))

    def record(self, asks: Iterable[Ask], today: date) -> None:
        """One transaction: the asked recorded, the ends already past gone (gdpr.recontact.still_useful)."""
        rows = [(a.subject_ref, a.end_date) for a in asks]

        def write(conn) -> None:
            with conn.transaction():
                conn.cursor().executemany(_ASK, rows)
                conn.execute("DELETE FROM dsr_retention.recontact_asked WHERE end_date < %s", (today,))

        self._link.run(write)

    def close(self) -> None:
        self._link.close()
