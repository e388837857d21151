"""The retention sweep's shell: scans the systems, plans (gdpr.sweep), keeps plans and sweep records, publishes."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from gdpr.lifecycle import stable_id
from gdpr.register import Register
from gdpr.sealing import Lease, subject_ref
from gdpr.sweep import (
    NO_SCAN,
    Due,
    Hold,
    Item,
    Plan,
    Purge,
    Row,
    SystemStatus,
    batches,
    make_plan,
    sweep_request_id,
    task_id,
    unswept,
)
from handlers.protocol import (
    HoldsOf,
    SystemUnanswered,
    TaskRefused,
    UnsupportedAction,
    erases_by_category,
    no_holds,
    purges_unkeyed,
    scans_retention,
)
from handlers.runtime import TransientAdapterError
from schemas.audit import AuditRecord
from schemas.identity import normalize_email
from schemas.notifications import EmailRequested, MessageType, Recipient
from schemas.sealed import Sealed
from schemas.tasks import LegalHold, Task, TaskAction

REPORT_MESSAGE = MessageType.DPO_RETENTION_REPORT
NOT_SCANNED = (SystemStatus.UNSUPPORTED, SystemStatus.UNANSWERED)  # the report lists both: to sweep by hand
PIPELINE_SYSTEM = "dsr"  # the register's entry for the pipeline's own case records: purged by the workers (R51)
PLANS_KEPT = timedelta(days=30)  # a plan file not written again for this long was carried out or superseded


@dataclass
class Scanned:
    """What the systems reported: due categories by subject_ref; the e-mails stay in this process only."""

    due: list[Due] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)  # system: why (never an empty answer in its place)
    purges: list[Purge] = field(default_factory=list)  # records past their end purged not per person (R45, L123-22)
    by_category: set[str] = field(default_factory=set)  # systems that erase by category: each category at its end


def scan(
    adapters: Iterable[object],
    register: Register,
    secret: bytes,
    as_of: date,
    subject: str | None = None,
    holds: Iterable[Hold] = (),
) -> Scanned:
    """Ask every system for what is past its end on `as_of` (R44); `subject`: one person's only. A system purging
    records not per person is given the `holds` (R46), to count those they keep apart."""
    out, holds = Scanned(), tuple(holds)
    wanted = normalize_email(subject) if subject else None
    for adapter in adapters:
        if not scans_retention(adapter):
            out.unsupported.append(adapter.name)
            continue
        try:
            result = _scan_one(adapter, register, as_of, holds_of(holds, secret, adapter.name))
        except UnsupportedAction:  # a webhook or SDK system that does not scan
            out.unsupported.append(adapter.name)
            continue
        except SystemUnanswered as exc:  # an SDK system asked on its task topic: silent, or its scan failed
            out.unanswered[adapter.name] = str(exc)
            continue
        if result.by_category and not erases_by_category(adapter):  # never the whole person for part of them
            out.unanswered[adapter.name] = f"system '{adapter.name}' scans by category but does not erase by category"
            continue
        if result.by_category:  # R44: each category at its own end; the others, whole people only
            out.by_category.add(adapter.name)
        out.waiting[adapter.name] = result.waiting
        if not wanted and purges_unkeyed(adapter):  # one person's plan purges nobody else's records
            out.purges += [Purge(adapter.name, **vars(found)) for found in result.unkeyed]
        for record in result.due:
            if wanted and normalize_email(record.email) != wanted:
                continue
            ref = subject_ref(secret, record.email)
            out.emails[ref] = record.email
            out.due.append(
                Due(adapter.name, ref, record.category, record.rule, record.action, record.end_date, record.count)
            )
    return out


def _scan_one(adapter, register: Register, as_of: date, holds: HoldsOf):
    if purges_unkeyed(adapter):
        return adapter.retention_scan(as_of, register, holds_of=holds)
    return adapter.retention_scan(as_of, register)


def holds_of(holds: Iterable[Hold], secret: bytes, system: str) -> HoldsOf:
    """R46 for records a system purges not per person (an archived invoice): the holds in `system` on the person an
    e-mail names, matched by subject_ref, the keyed hash holds are recorded by. No held address leaves the shell."""
    by_ref: dict[str, tuple[LegalHold, ...]] = {}
    for hold in holds:
        if hold.system in (None, system):
            by_ref[hold.subject_ref] = (*by_ref.get(hold.subject_ref, ()), hold.hold)
    if not by_ref:
        return no_holds
    return lambda email: by_ref.get(subject_ref(secret, email), ())


def plan_of(
    scanned: Scanned,
    as_of: date,
    holds: Iterable[Hold] = (),
    unsupported: Mapping[str, str] | None = None,
    register: Register | None = None,
) -> Plan:
    """The plan of what the systems reported. `unsupported`: systems not scanned for a reason of the shell's (name:
    why), listed beside those that declare no scan; with the register, each one with its categories' rules (R44)."""
    reasons = dict.fromkeys(scanned.unsupported, NO_SCAN) | dict(unsupported or {})
    systems = [unswept(name, why, register) for name, why in reasons.items()]
    return make_plan(
        as_of, scanned.due, holds, systems, scanned.waiting, scanned.unanswered, scanned.purges, scanned.by_category
    )


def load_holds(path: Path | None, secret: bytes) -> list[Hold]:
    """R46: legal holds outside cases, one JSON object a line: email, optional system, and a LegalHold's fields."""
    if path is None:
        return []
    holds = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            email, system = entry.pop("email"), entry.pop("system", None)
            holds.append(Hold(subject_ref(secret, email), LegalHold.model_validate(entry), system))
    return holds


# --- Plans, approvals and sweep records, kept under the data dir ---------------------------------


class RetentionStore:
    """Plans (without e-mails), the DPO's approvals and each sweep's progress, as small JSON files: one worker, or
    the workers of one machine (`dsr dev --workers N`). Workers on several machines share the PostgreSQL twin
    (dsr.retention_store, DSR_VAULT_DSN); both pass tests/contract/test_retention_store.py."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root, self._clock = Path(root), clock
        for sub in ("plans", "sweeps"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def save_plan(self, plan: Plan) -> None:
        """The plan as the DPO approves it: rows, and its items by subject_ref (a keyed hash, no address). Saving
        one prunes those gone stale (`prune_plans`): every plan, run and clock tick keeps the folder small."""
        path, saved = self.root / "plans" / f"{plan.plan_id}.json", self._clock()
        _write(path, plan_json(plan))
        os.utime(path, (saved, saved))  # its age by the worker's clock, as the PostgreSQL twin stamps it
        self.prune_plans()

    def prune_plans(self) -> list[str]:
        """Each plan lists every person due by subject_ref: kept no longer than needed (Art. 5(1)(c),(e)). A plan
        not written again for PLANS_KEPT was carried out (the audit keeps what was done) or superseded (each day's
        scan makes a new one); the plan of a sweep cut short stays, for the run that carries it on. The ids gone."""
        cutoff, resumable = self._clock() - PLANS_KEPT.total_seconds(), self._cut_short()
        gone = []
        for path in sorted((self.root / "plans").glob("*.json")):
            if path.stem not in resumable and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                gone.append(path.stem)
        return gone

    def _cut_short(self) -> set[str]:
        records = (json.loads(path.read_text()) for path in (self.root / "sweeps").glob("*.json"))
        return {record["plan_id"] for record in records if not record.get("finished")}

    def plan(self, plan_id: str) -> dict | None:
        path = self.root / "plans" / f"{plan_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def load_plan(self, plan_id: str) -> Plan | None:
        body = self.plan(plan_id)
        return plan_from_json(body) if body else None

    def approve(self, plan_id: str, by: str, at: datetime) -> None:
        approvals = self.approvals()
        approvals[plan_id] = {"by": by, "at": at.isoformat()}
        _write(self.root / "approvals.json", approvals)

    def approvals(self) -> dict[str, dict]:
        path = self.root / "approvals.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def claim(self, as_of: date, plan_id: str) -> str:
        """The day's sweep is the first plan claimed for it: its record is created once (a hard link fails on an
        existing name), so two runs overlapping carry one plan on, never each their own from scratch. Returns the
        plan the day carries."""
        path = self.root / "sweeps" / f"{as_of.isoformat()}.json"
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".claim", delete=False) as spare_file:
            spare_file.write(json.dumps({"plan_id": plan_id, "batches_done": 0}, sort_keys=True))
        spare = Path(spare_file.name)
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink(missing_ok=True)
        return self._sweep(as_of)["plan_id"]

    def unfinished(self, as_of: date) -> str | None:
        """The plan of the day's sweep if it was cut short: a new run carries that plan on, not a new one."""
        record = self._sweep(as_of)
        return record["plan_id"] if record and not record.get("finished") else None

    def batches_done(self, as_of: date, plan_id: str) -> int:
        record = self._sweep(as_of)
        return record["batches_done"] if record and record["plan_id"] == plan_id else 0

    def record_batch(self, as_of: date, plan_id: str, index: int, total: int) -> None:
        body = {"plan_id": plan_id, "batches_done": index + 1, "total": total}
        _write(self.root / "sweeps" / f"{as_of.isoformat()}.json", body)

    def finish(self, as_of: date, plan_id: str, total: int) -> None:
        body = {"plan_id": plan_id, "batches_done": total, "total": total, "finished": True}
        _write(self.root / "sweeps" / f"{as_of.isoformat()}.json", body)

    def _sweep(self, as_of: date) -> dict | None:
        path = self.root / "sweeps" / f"{as_of.isoformat()}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def close(self) -> None:
        """Nothing held open: each call reads or writes its file."""


def plan_json(plan: Plan) -> dict:
    return {
        "plan_id": plan.plan_id,
        "as_of": plan.as_of.isoformat(),
        "size": plan.size,
        "rows": [row.to_json() for row in plan.rows],
        "waiting": dict(plan.waiting),
        "items": [_item_json(item) for item in plan.items],
        "purges": [{k: _plain(v) for k, v in vars(purge).items()} for purge in plan.purges],
    }


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _item_json(item: Item) -> dict:
    holds = [h.model_dump(mode="json") for h in item.holds]
    return {"system": item.system, "subject_ref": item.subject_ref, "categories": list(item.categories)} | {
        "end_date": item.end_date.isoformat(),
        "holds": holds,
        "by_category": item.by_category,
    }


def plan_from_json(body: dict) -> Plan:
    items = tuple(
        Item(
            i["system"],
            i["subject_ref"],
            tuple(i["categories"]),
            date.fromisoformat(i["end_date"]),
            tuple(LegalHold.model_validate(h) for h in i["holds"]),
            by_category=i.get("by_category", False),  # a plan saved before: whole people
        )
        for i in body["items"]
    )
    rows = tuple(_row_from_json(r) for r in body["rows"])
    purges = tuple(
        Purge(
            **{
                **p,
                "end_date": date.fromisoformat(p["end_date"]),
                "last_end_date": date.fromisoformat(p["last_end_date"]),
            }
        )
        for p in body.get("purges", ())
    )
    as_of = date.fromisoformat(body["as_of"])
    return Plan(as_of=as_of, rows=rows, items=items, waiting=body.get("waiting", {}), purges=purges)


def _row_from_json(row: dict) -> Row:
    dates = {k: date.fromisoformat(row[k]) if row[k] else None for k in ("end_date", "last_end_date")}
    return Row(**{**row, **dates, "status": SystemStatus(row["status"])})


def _write(path: Path, body: dict) -> None:
    """Written beside, then renamed: a sweep killed mid-write leaves the previous record whole."""
    spare = path.with_suffix(".tmp")
    spare.write_text(json.dumps(body, indent=1, sort_keys=True))
    spare.replace(path)


# --- Carrying a plan out ------------------------------------------------------------------------


class SweepSink(Protocol):
    """Where a sweep writes: the task topics, dsr.audit and dsr.notifications. `flush` returns once acked."""

    def task(self, task: Task) -> None: ...
    def audit(self, record: AuditRecord) -> None: ...
    def notify(self, request: EmailRequested) -> None: ...
    def flush(self) -> None: ...


Seal = Callable[[str, dict, str, Lease], Sealed]  # (subject_ref, value, audience, lease) -> sealed for that system


@dataclass(frozen=True)
class Sweep:
    plan: Plan
    emails: dict[str, str]
    register: Register
    seal: Seal
    clock: Callable[[], datetime]
    batch_size: int = 500
    language: str = "fr"
    pause: float = 0.0  # seconds between batches
    approval: Mapping[str, str] = field(default_factory=dict)  # who approved the plan, when (R50)
    sleep: Callable[[float], None] = time.sleep
    # Each task leases its person's key (gdpr.sealing.Lease) for DSR_TASK_TIMEOUT_HOURS: a key the sweep creates goes
    # when every system answered its task (the workers release the leases), or when the leases expire.
    key_lease: timedelta = timedelta(hours=4)


def run_sweep(sweep: Sweep, sink: SweepSink, store: RetentionStore) -> int:
    """Publish the plan's erasures batch by batch, each recorded once acked; a sweep killed halfway starts
    again after its last recorded batch, and a batch published twice carries the same task ids, which the
    task runtime answers from its record instead of erasing twice. Returns the batches published now."""
    plan, published = sweep.plan, 0
    done = store.batches_done(plan.as_of, plan.plan_id)
    total = -(-len(plan.items) // sweep.batch_size)
    for index, items in batches(sweep.plan.items, sweep.batch_size):
        if index < done:
            continue
        if published and sweep.pause:
            sweep.sleep(sweep.pause)
        for item in items:
            if item.subject_ref in sweep.emails:  # else no system holds them any more: erased already
                sink.task(_task(sweep, item))
        sink.audit(_audit(sweep, "retention_batch_published", f"{index}", batch=index, tasks=len(items), of=total))
        sink.flush()
        store.record_batch(plan.as_of, plan.plan_id, index, total)
        published += 1
    _finish(sweep, sink, total)
    store.finish(plan.as_of, plan.plan_id, total)
    return published


def purge_unkeyed(
    sweep: Sweep, adapters: Iterable[object], sink: SweepSink, holds: Iterable[Hold] = (), secret: bytes = b""
) -> int:
    """R44, R45: each system whose plan counts records past their end not per person deletes them itself, as of
    the plan's day (idempotent: a resumed sweep purges again and finds none), but for those of people the `holds`
    keep (R46: the holds of the day of the run, matched by subject_ref under `secret`); each purge in dsr.audit,
    counts only."""
    by_name = {getattr(a, "name", ""): a for a in adapters if purges_unkeyed(a)}
    purged, holds = 0, tuple(holds)
    for purge in sweep.plan.purges:
        adapter = by_name.get(purge.system)
        if adapter is None:
            continue
        detail = {"system": purge.system, "category": purge.category, "rule": purge.rule}
        try:
            count = adapter.purge_expired(sweep.plan.as_of, sweep.register, holds_of(holds, secret, purge.system))
        except (TaskRefused, SystemUnanswered, TransientAdapterError) as exc:  # a webhook or SDK system: the next run
            why = f"{type(exc).__name__}: {exc}"  # asks again; the messages name systems and fields, never people
            sink.audit(
                _audit(sweep, "retention_unkeyed_not_purged", f"{purge.system}:{purge.category}", **detail, error=why)
            )
            continue
        sink.audit(
            _audit(sweep, "retention_unkeyed_purged", f"{purge.system}:{purge.category}", **detail, purged=count)
        )
        purged += count
    sink.flush()
    return purged


def _task(sweep: Sweep, item: Item) -> Task:
    ref, plan_id, now = item.subject_ref, sweep.plan.plan_id, sweep.clock()
    task = task_id(plan_id, item.system, ref)
    lease = Lease(task, now + sweep.key_lease)  # released by the task's answer: the key outlives no answer
    return Task(
        task_id=task,
        subject_request_id=sweep_request_id(plan_id),
        system=item.system,
        action=TaskAction.ERASE,
        subject_ref=ref,
        subject=sweep.seal(ref, {"email": sweep.emails[ref], "name": ""}, item.system, lease),
        holds=list(item.holds),  # R46: held categories stay, restricted
        categories=list(item.categories) if item.by_category else [],  # R44: just those; the others still run
        issued_at=sweep.clock(),
    )


def expire_keys(vault, now: datetime, sink: Callable[[], SweepSink]) -> int:
    """The keys the sweep or the re-contact created whose leases all ran out unanswered (a system silent past
    DSR_TASK_TIMEOUT_HOURS, a link never answered) go, each recorded in dsr.audit as `key_destroyed`, as a case's
    (`dsr vault replay-destructions` destroys them again in a vault restored from a backup). How many went."""
    gone = vault.expire(now)
    if gone:
        out, reference = sink(), f"retention-keys-{now.date().isoformat()}"
        for ref in gone:
            audit_id = stable_id("audit", "key_destroyed", reference, ref)
            record = AuditRecord(audit_id=audit_id, occurred_at=now, kind="key_destroyed", request_id=reference)
            out.audit(record.model_copy(update={"subject_ref": ref, "detail": {"why": "lease_expired"}}))
        out.flush()
        getattr(out, "close", lambda: None)()
    return len(gone)


def _audit(sweep: Sweep, kind: str, dedup: str, **detail) -> AuditRecord:
    request_id = sweep_request_id(sweep.plan.plan_id)
    return AuditRecord(
        audit_id=stable_id("audit", kind, request_id, dedup),
        occurred_at=sweep.clock(),
        kind=kind,
        request_id=request_id,
        action=TaskAction.ERASE.value,
        detail={"plan_id": sweep.plan.plan_id, "as_of": sweep.plan.as_of.isoformat(), **detail},
    )


def _finish(sweep: Sweep, sink: SweepSink, total: int) -> None:
    """The last steps are idempotent by id: a resumed sweep repeats them harmlessly."""
    plan = sweep.plan
    detail = {"batches": total, "people": plan.size, "approved": dict(sweep.approval)}
    sink.audit(_audit(sweep, "retention_sweep_published", "done", **detail))
    sink.notify(report_email(plan, sweep.register, sweep.clock(), sweep.language))
    sink.flush()


def report_email(plan: Plan, register: Register, now: datetime, language: str) -> EmailRequested:
    """The DPO's report: per system, category and rule, counts and end dates; no personal data."""
    request_id = sweep_request_id(plan.plan_id)
    return EmailRequested(
        message_id=stable_id("email", request_id, REPORT_MESSAGE),
        request_id=request_id,
        message_type=REPORT_MESSAGE,
        language=language,
        recipient=Recipient.DPO,
        context=report_context(plan, register),
        requested_at=now,
    )


def report_context(plan: Plan, register: Register) -> dict:
    """Labels in both languages rather than codes: the DPO reads words (and no one's data)."""
    scanned = [r for r in plan.rows if r.status is SystemStatus.SCANNED]
    return {
        "reference": sweep_request_id(plan.plan_id),
        "plan_id": plan.plan_id,
        "as_of": plan.as_of.isoformat(),
        "people": plan.size,
        "rows": [_report_row(register, r) for r in scanned],
        "unsupported": [_system_label(register, name) for name in _by_hand(plan)],
        "waiting": sum(plan.waiting.values()),
    }


def _by_hand(plan: Plan) -> list[str]:
    """Systems the sweep did not reach, once each; not the pipeline's own records, which the workers purge (R51)."""
    names = dict.fromkeys(r.system for r in plan.rows if r.status in NOT_SCANNED)
    return [name for name in names if name != PIPELINE_SYSTEM]


def _report_row(register: Register, row: Row) -> dict:
    system = register.systems.get(row.system)
    category = system.categories.get(row.category or "") if system else None
    return {
        "system": _system_label(register, row.system),
        "category": category.label.model_dump() if category else row.category,
        "action": row.action,
        "count": row.count,
        "records": row.records,
        "held": row.held,
        "end_date": row.end_date.isoformat() if row.end_date else None,
        "last_end_date": row.last_end_date.isoformat() if row.last_end_date else None,
    }


def _system_label(register: Register, system: str) -> dict | str:
    entry = register.systems.get(system)
    return entry.label.model_dump() if entry else system
