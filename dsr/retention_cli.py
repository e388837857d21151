"""`dsr retention`: plan, approve and run the sweep that carries the retention table out (R44, R46)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import click

from gdpr.deadlines import PARIS
from gdpr.sweep import Plan, SystemStatus, needs_approval

AS_OF = click.option("--as-of", "as_of", default=None, help="The day to plan for (YYYY-MM-DD); default: today.")
SYSTEM = click.option("--system", "systems", multiple=True, help="Only this system (repeatable).")
APPROVAL_NEEDED = 3  # exit status of `run` when the plan waits for the DPO


@click.group(help="The retention sweep: what each system holds past its end, erased or anonymised (R44).")
def retention() -> None:
    pass


@retention.command("plan", help="Show what a sweep would erase or anonymise, per system and rule, and what holds keep.")
@AS_OF
@SYSTEM
@click.option("--subject", default=None, help="Only this person's data (their e-mail address).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def plan_command(as_of: str | None, systems: tuple[str, ...], subject: str | None, as_json: bool) -> None:
    shell = Shell.load()
    plan = shell.plan(_day(as_of), systems, subject)[0]
    shell.store.save_plan(plan)
    state = "approved" if plan.plan_id in shell.store.approvals() else _approval_state(shell, plan)
    lines = list(_json_lines(plan, state) if as_json else _text(plan, state))
    recontact = None if subject else shell.recontact(_day(as_of), systems)
    if recontact is not None:  # in JSON, before the summary, which stays the last line
        lines.insert(len(lines) - 1 if as_json else len(lines), _recontact_line(recontact, as_json))
    for line in lines:
        click.echo(line)


@retention.command("approve", help="Approve PLAN (its id, from `dsr retention plan`): the sweep may carry it out.")
@click.argument("plan_id")
@click.option("--by", default=None, help="Who approves (default: the login name).")
def approve_command(plan_id: str, by: str | None) -> None:
    shell = Shell.load()
    saved = shell.store.plan(plan_id)
    if saved is None:
        raise click.ClickException(f"no plan {plan_id}: run `dsr retention plan` first and approve the id it prints")
    shell.store.approve(plan_id, by or getpass.getuser(), datetime.now(PARIS))
    click.echo(f"plan {plan_id} approved: {saved['size']} people as of {saved['as_of']}")


@retention.command("run", help="Carry the plan out through the task topics, in batches; resumes a sweep cut short.")
@AS_OF
@SYSTEM
@click.option("--bootstrap", envvar="DSR_KAFKA_BOOTSTRAP", default="127.0.0.1:9092", show_default=True)
def run_command(as_of: str | None, systems: tuple[str, ...], bootstrap: str) -> None:
    from dsr.retention_kafka import KafkaSweepSink

    outcome = carry_out(Shell.load(), _day(as_of), systems, lambda: KafkaSweepSink(bootstrap, _security(bootstrap)))
    plan = outcome.plan
    if outcome.resumed:
        click.echo(f"resumed the sweep of {plan.as_of} cut short: plan {plan.plan_id}")
    if outcome.asked is not None:
        click.echo(f"asked {outcome.asked} prospect(s) whether to keep hearing from us (one e-mail each, once)")
    if outcome.published is None:
        click.echo(f"plan {plan.plan_id}: {plan.size} people; it waits for `dsr retention approve {plan.plan_id}`")
        raise SystemExit(APPROVAL_NEEDED)
    click.echo(f"plan {plan.plan_id}: {plan.size} people, {outcome.published} batch(es) published now")


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    resumed: bool
    published: int | None  # None: the plan waits for the DPO's approval
    asked: int | None = None  # prospects e-mailed the re-contact now; None: DSR_RETENTION_RECONTACT_DAYS is 0


def carry_out(shell: Shell, day: date, systems: tuple[str, ...], make_sink) -> Outcome:
    """The day's re-contact and sweep, or the sweep cut short that day carried on; the same for `dsr retention run`
    and the clock. The re-contact is an e-mail, not an erasure: it does not wait for the plan's approval; it writes to
    real people about real dates, so it runs for today only, never for another `--as-of`."""
    shell.expire_keys(make_sink)  # R44 applied to the keys: those of tasks and links unanswered in time
    asked = shell.ask_ahead(day, systems, make_sink) if day == datetime.now(PARIS).date() else None
    plan, emails = shell.plan(day, systems, None)
    # The day's sweep covers every system. A run for some systems (`--system`) is the DPO's own: it carries its plan
    # out whole, neither resuming nor claiming the day's, so the clock's sweep of that day still runs for the others.
    # Killed, it is run again: the same plan gives the same task ids, answered from the runtimes' records.
    day_s_sweep = not systems
    cut_short = shell.store.unfinished(day) if day_s_sweep else None
    resumed = shell.store.load_plan(cut_short) if cut_short else None
    plan = resumed or plan
    shell.store.save_plan(plan)
    if _approval_state(shell, plan) == "needed":
        return Outcome(plan, bool(resumed), None, asked)
    if day_s_sweep:
        claimed = shell.store.claim(day, plan.plan_id)  # a leader overlapping this one in a rebalance claimed it first
        if claimed != plan.plan_id:
            plan, resumed = shell.store.load_plan(claimed), shell.store.unfinished(day) == claimed
    sink = make_sink()
    try:
        progress = shell.store if day_s_sweep else Unrecorded()
        return Outcome(plan, bool(resumed), shell.sweep(plan, emails, sink, progress), asked)
    finally:
        sink.close()


class Unrecorded:
    """The progress of a run for some systems: kept nowhere, so the day's sweep record stays the clock's."""

    def batches_done(self, as_of: date, plan_id: str) -> int:
        return 0

    def record_batch(self, as_of: date, plan_id: str, index: int, total: int) -> None:
        pass

    def finish(self, as_of: date, plan_id: str, total: int) -> None:
        pass


def _security(bootstrap: str):
    from dsr.cli import checked_kafka

    return checked_kafka(bootstrap)


@dataclass
class Shell:
    """The settings, the register, the systems and the store a retention command works with."""

    settings: object
    secret: bytes
    register: object
    store: object  # plans, approvals, sweeps: files under the data dir, or PostgreSQL at DSR_VAULT_DSN
    asked: object  # who was asked once (CNIL-COM), beside them

    @classmethod
    def load(cls, settings=None, secret: bytes | None = None) -> Shell:
        from dsr.composition import asked_store, retention_store, secret_from
        from dsr.register import load_register
        from dsr.settings import load_settings

        settings = settings or load_settings()
        register = load_register(settings.register_file)
        secret = secret or secret_from(settings)
        return cls(settings, secret, register, retention_store(settings), asked_store(settings))

    def close(self) -> None:
        self.store.close()
        self.asked.close()

    def plan(self, as_of: date, systems: tuple[str, ...], subject: str | None) -> tuple[Plan, dict[str, str]]:
        from dsr.retention import plan_of, scan
        from dsr.retention_systems import NOT_ASKED, scanned_systems, unadapted_systems

        adapters, others = scanned_systems(self.settings, self.secret, self.register, systems)
        to_ask = [name for name in others if name in self.settings.retention_scan_names()]
        holds = self.holds()
        with backoffice_scans(self.settings, self.secret, to_ask) as asked:
            scanned = scan([*adapters, *asked], self.register, self.secret, as_of, subject, holds)
        not_asked = {name: NOT_ASKED for name in others if name not in {a.name for a in asked}}
        not_asked |= unadapted_systems(self.settings, self.register, systems)  # R44: rules nobody carries out
        return plan_of(scanned, as_of, holds, not_asked, self.register), scanned.emails

    def holds(self) -> list:
        """R46: the legal holds of the holds file and those placed on cases, as of now."""
        from dsr.composition import case_holds
        from dsr.retention import load_holds
        from gdpr.sweep import Hold

        holds = load_holds(self.settings.retention_holds_file, self.secret)
        return holds + [Hold(ref, hold) for ref, hold in case_holds(self.settings).all()]

    def sweep(self, plan: Plan, emails: dict[str, str], sink, progress=None) -> int:
        from dsr.composition import key_vault
        from dsr.retention import Sweep, purge_unkeyed, run_sweep
        from dsr.retention_systems import scanned_systems
        from streams.sealing import Sealer

        sealer = Sealer(key_vault(self.settings, self.secret), self.secret)
        sweep = Sweep(
            plan,
            emails,
            self.register,
            seal=lambda ref, value, system, lease: sealer.seal(ref, value, audience=system, lease=lease),
            clock=lambda: datetime.now(PARIS),
            batch_size=self.settings.retention_batch_size,
            language=self.settings.dpo_language,
            pause=self.settings.retention_batch_pause,
            approval=self.store.approvals().get(plan.plan_id, {}),
            key_lease=timedelta(hours=self.settings.task_timeout_hours),
        )
        published = run_sweep(sweep, sink, progress or self.store)
        if plan.purges:  # fingerprints (R45), archived invoices (L123-22) past their end: each system deletes its own
            systems = tuple(p.system for p in plan.purges)
            adapters, others = scanned_systems(self.settings, self.secret, self.register, systems)
            sdk = [name for name in others if name in self.settings.retention_scan_names()]  # asked on their topic
            with backoffice_scans(self.settings, self.secret, sdk) as asked:
                purge_unkeyed(sweep, [*adapters, *asked], sink, self.holds(), self.secret)  # R46: the holds of now
        return published

    def expire_keys(self, make_sink) -> int:
        """The sweep's and the re-contact's keys whose leases all expired go (dsr.retention.expire_keys)."""
        from dsr.composition import key_vault
        from dsr.retention import expire_keys

        return expire_keys(key_vault(self.settings, self.secret), datetime.now(PARIS), make_sink)

    def recontact(self, today: date, systems: tuple[str, ...]):
        """CNIL-COM: the prospects to ask before their end, not asked yet; None when the re-contact is off."""
        from dsr.recontact import find
        from dsr.retention_systems import scanned_systems

        days = self.settings.retention_recontact_days
        if days <= 0:
            return None
        adapters, _ = scanned_systems(self.settings, self.secret, self.register, systems)
        return find(adapters, self.register, self.secret, today, days, self.asked.asked())

    def ask_ahead(self, today: date, systems: tuple[str, ...], make_sink) -> int | None:
        """Send the day's re-contact e-mails; the number asked, or None when the re-contact is off."""
        from dsr.composition import key_vault
        from dsr.recontact import Mailing, send
        from streams.sealing import Sealer

        recontact = self.recontact(today, systems)
        if recontact is None:
            return None
        sealer = Sealer(key_vault(self.settings, self.secret), self.secret)
        mailing = Mailing(sealer.seal, self.secret, self.settings.base_url(), lambda: datetime.now(PARIS))
        sink = make_sink()
        try:
            return send(recontact, mailing, sink, self.asked)
        finally:
            sink.close()


def _recontact_line(recontact, as_json: bool) -> str:
    people, days = len(recontact.asks), recontact.days
    if as_json:
        return json.dumps({"status": "recontact", "count": people, "days": days, "as_of": recontact.today.isoformat()})
    return f"Re-contact: {people} prospect(s) whose end falls within {days} days, not asked yet, would be asked now."


@contextmanager
def backoffice_scans(settings, secret: bytes, systems: list[str]) -> Iterator[list]:
    """The systems of DSR_RETENTION_SCAN_SYSTEMS served by a consumer of their own, asked over Kafka (R44); with no
    DSR_KAFKA_BOOTSTRAP they cannot be asked from here, and stay listed as unsupported."""
    if not systems or not settings.kafka_bootstrap:
        yield []
        return
    from dsr.composition import key_vault
    from dsr.retention_backoffice import BackOfficeScan
    from dsr.retention_kafka import KafkaScanTransport
    from streams.sealing import Sealer, SubjectForgotten

    sealer = Sealer(key_vault(settings, secret), secret)

    def opener(sealed):
        try:
            return sealer.open(sealed)["email"]
        except SubjectForgotten:
            return None

    transport = KafkaScanTransport(settings.kafka_bootstrap, settings.kafka_security())
    timeout, page = settings.retention_scan_timeout, settings.retention_scan_page
    try:
        yield [BackOfficeScan(name, transport, opener, timeout, page) for name in systems]
    finally:
        transport.close()


def _approval_state(shell: Shell, plan: Plan) -> str:
    approvals = shell.store.approvals()
    if not plan.size:
        return "nothing to erase"
    if plan.plan_id in approvals:
        return "approved"
    limit = shell.settings.retention_approval_limit
    return "needed" if needs_approval(plan.plan_id, plan.size, approvals, limit) else "within the approved limit"


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(PARIS).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _json_lines(plan: Plan, state: str):
    head = {"plan_id": plan.plan_id, "as_of": plan.as_of.isoformat(), "people": plan.size, "approval": state}
    for row in plan.rows:
        yield json.dumps({**row.to_json(), "plan_id": plan.plan_id})
    for system, count in sorted(plan.waiting.items()):
        yield json.dumps({"system": system, "status": "waiting", "count": count, "plan_id": plan.plan_id})
    yield json.dumps({"summary": True, **head})


def _not_swept(plan: Plan):
    """Systems the sweep does not reach, with why, and the rules of theirs nobody carries out (R44)."""
    unsupported = [r for r in plan.rows if r.status is SystemStatus.UNSUPPORTED]
    for system in dict.fromkeys(r.system for r in unsupported):
        rows = [r for r in unsupported if r.system == system]
        yield f"  {system}: unsupported, not swept: {rows[0].reason}"
        for r in rows:
            if r.category:
                yield f"    {r.category} ({r.rule}, {r.action})"
    for r in plan.rows:
        if r.status is SystemStatus.UNANSWERED:
            yield f"  {r.system}: unanswered, not swept: {r.reason}"


def _text(plan: Plan, state: str):
    yield f"Retention plan {plan.plan_id} as of {plan.as_of}: {plan.size} erasure(s) to ask ({state})."
    scanned = [r for r in plan.rows if r.status is SystemStatus.SCANNED]
    if not scanned:
        yield "Nothing is past its end."
    purged = {(p.system, p.category) for p in plan.purges}
    for r in scanned:
        if (r.system, r.category) in purged:  # fingerprints, archived invoices: the system deletes them itself
            yield f"  {r.system} / {r.category} ({r.rule}, {r.action}): {r.records} records, no one to ask for, ended "
            held = f", but {r.held} kept by a legal hold" if r.held else ""
            yield f"    {r.end_date} to {r.last_end_date}: purged by the system{held}"
            continue
        held = f", {r.held} kept by a legal hold" if r.held else ""
        yield (
            f"  {r.system} / {r.category} ({r.rule}, {r.action}): {r.count} people, {r.records} records, "
            f"ended {r.end_date} to {r.last_end_date}{held}"
        )
    for system, count in sorted(plan.waiting.items()):
        if count:
            yield f"  {system}: {count} people with part of their data still running (kept until the last end)"
    yield from _not_swept(plan)
    if state == "needed":
        yield f"Approve with: dsr retention approve {plan.plan_id}"
