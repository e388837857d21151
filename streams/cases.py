"""Consumes `dsr.cases`: the coordinator. Folds each event into the case table, then carries out what is due."""

from __future__ import annotations

from datetime import datetime

from gdpr.case_state import TaskRecord
from gdpr.commands import FollowUpEmail, ResendEmail, ResendTask
from gdpr.decisions import DecisionRefused, check
from gdpr.lifecycle import (
    CaseState,
    Command,
    DeleteDocument,
    DestroySubjectKey,
    IssueTask,
    PurgeCaseRecord,
    RaiseAlert,
    SendEmail,
    decide,
    email_id,
    evolve,
    record_done,
    task_id,
)
from gdpr.recontact import borrows_key
from gdpr.reminders import PURGE
from schemas.cases import ClockTicked, DpoDecided, EmailSent, TaskAnswered, parse_case_event
from schemas.decisions import Decision
from schemas.notifications import EmailFollowedUp, ForgetSentEmails, MessageType
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction, TaskResult
from streams import request_log, topics
from streams.access_package import build_access_package
from streams.agenda import IndexedCases, parsed
from streams.audit import audit, audit_step
from streams.context import Context
from streams.dead_letters import Rejected
from streams.notices import email_for
from streams.sealing import SubjectForgotten
from streams.tables import forget

CaseTable = IndexedCases
SEALED_PAYLOAD_ACTIONS = (TaskAction.RECTIFY, TaskAction.RECORD_SUBMISSION)

# The outcomes that hand over a copy: the package is built before their e-mail links to it.
COPY_MESSAGES = frozenset({MessageType.OUTCOME_ACCESS, MessageType.OUTCOME_PORTABILITY, MessageType.ESTATE_ACCESS})


def load(cases: CaseTable, request_id: str) -> CaseState | None:
    raw = cases.get(request_id)
    return parsed(raw) if raw else None


async def on_case_event(ctx: Context, cases: CaseTable, raw: bytes) -> None:
    """evolve, decide, carry out, store: the whole coordinator in four steps."""
    try:
        event = parse_case_event(raw)
    except ValueError as exc:
        raise Rejected(f"invalid case event: {type(exc).__name__}") from None
    await coordinate(ctx, cases, event)


async def coordinate(ctx: Context, cases: CaseTable, event) -> None:
    """One event of a case, from `dsr.cases` or straight from a task result that arrived where its case lives."""
    request_log.concerns(event.request_id)
    before = load(cases, event.request_id)
    async with audit_step(ctx):  # on record before the table moves: a replay after a crash redoes both
        state = await _coordinate(ctx, before, event)
    if state is not None:
        _share_holds(ctx, event.request_id, before, state)
        _store(cases, event.request_id, before, state)


async def _coordinate(ctx: Context, before: CaseState | None, event) -> CaseState | None:
    if isinstance(event, EmailSent):
        await _audit_sent(ctx, event)
    if isinstance(event, TaskAnswered):
        await _audit_result(ctx, event.result)
        if before is not None:
            _time_task(ctx, before, event)
    if isinstance(event, DpoDecided) and before is not None:
        await _audit_decision(ctx, before, event)
    state = evolve(before, event)
    if state is None:
        await _release_key(ctx, event)
        return None  # an event for a request that is not a case (a form submission, a sweep): nothing to coordinate
    now = ctx.clock()
    state = await carry_out(ctx, state, decide(state, now, ctx.config.policy), now)
    if PURGE not in state.done:
        await _audit_change(ctx, before, state, event)
    return state


async def _release_key(ctx: Context, event) -> None:
    """The answer to a task of the sweep or the re-contact ends the task's lease on its person's key: a key that
    either created goes with its last lease, once every system answered, unless a case uses it (gdpr.sealing.Lease).
    Recorded as every destruction is, for `dsr vault replay-destructions`."""
    if not isinstance(event, TaskAnswered) or not borrows_key(event.request_id):
        return
    for ref in ctx.sealer.release(event.result.task_id):
        dedup = f"key:{event.result.task_id}"
        await audit(ctx, "key_destroyed", request_id=event.request_id, subject_ref=ref, dedup=dedup)


async def _audit_sent(ctx: Context, event: EmailSent) -> None:
    """R50: which e-mail the SMTP server accepted and for whom (a role, never an address)."""
    await audit(
        ctx,
        "email_sent",
        request_id=event.request_id,
        message_type=event.message_type,
        dedup=event.message_id,
        detail={"recipient": event.recipient},
    )


async def _audit_result(ctx: Context, result: TaskResult) -> None:
    """R35, R50: what a system answered, in counts (never the data)."""
    await audit(
        ctx,
        "task_result",
        request_id=result.subject_request_id,
        system=result.system,
        action=result.action.value,
        status=result.status.value,
        dedup=f"{result.task_id}:{result.status}",
        detail={
            "erased_items": result.erased_items,
            "exported_items": result.exported_items,
            "kept": len(result.kept),
            "error": result.error,
        },
    )


def _share_holds(ctx: Context, request_id: str, before: CaseState | None, state: CaseState) -> None:
    """R46: the retention sweep keeps what a case holds; it learns of each change before the table moves, so a
    replay after a crash tells it again."""
    held = [] if PURGE in state.done else state.active_holds()
    if held != (before.active_holds() if before else []):
        ctx.case_holds.put(request_id, state.subject_ref, held)


def _store(cases: CaseTable, request_id: str, before: CaseState | None, state: CaseState) -> None:
    if PURGE in state.done:
        forget(cases, request_id)  # R51
    elif state != before:
        cases[request_id] = state.to_bytes()


def _time_task(ctx: Context, state: CaseState, event: TaskAnswered) -> None:
    """Metrics: from the task's issue to its first answer reaching the case."""
    record = state.tasks.get(event.result.task_id)
    if record is not None and record.status is None:
        seconds = (ctx.clock() - record.issued_at).total_seconds()
        ctx.metrics.task_latency.labels(record.system, record.action.value).observe(max(seconds, 0.0))


async def _audit_decision(ctx: Context, state: CaseState, event: DpoDecided) -> None:
    try:
        check(state, event.decision)
        refused = None
    except DecisionRefused as exc:
        refused = exc
    await audit_decision(ctx, state, event.decision, refused)


async def audit_decision(ctx: Context, state: CaseState, decision: Decision, refused: DecisionRefused | None) -> None:
    """Every decision is in dsr.audit with who, when and why (R50), refused ones too, with the reason (in English,
    and in French for the console)."""
    why = {"refused": str(refused), "refused_fr": refused.fr} if refused else {"refused": None}
    detail = decision.model_dump(mode="json", exclude={"by", "at", "kind"}) | why
    await audit(
        ctx,
        "dpo_decision_refused" if refused else "dpo_decision",
        request_id=state.request_id,
        subject_ref=state.subject_ref,
        dedup=f"decision:{decision.kind}:{decision.at.isoformat()}",
        detail={"kind": decision.kind, "by": decision.by, "at": decision.at.isoformat(), **detail},
    )


async def carry_out(ctx: Context, state: CaseState, commands: list[Command], now: datetime) -> CaseState:
    """Publish first, record after: a crash in between replays the command, and its id makes that harmless."""
    for command in commands:
        await execute(ctx, state, command, now)
        state = record_done(state, command, now)
    return state


async def execute(ctx: Context, state: CaseState, command: Command, now: datetime) -> None:
    if isinstance(command, IssueTask):
        await _issue_task(ctx, state, command, now)
    elif isinstance(command, ResendTask):
        await _resend_task(ctx, state, command)
    elif isinstance(command, SendEmail):
        await _send_email(ctx, state, command, now)
    elif isinstance(command, ResendEmail) and _still_out(state, command.email):
        await _send_email(ctx, state, command.email, now)  # same command id, same message id
    elif isinstance(command, FollowUpEmail) and command.message_id in state.mail_out:
        await _follow_up_email(ctx, state, command)
    elif isinstance(command, RaiseAlert):
        await audit(
            ctx,
            command.kind,
            request_id=state.request_id,
            subject_ref=state.subject_ref,
            dedup=command.command_id,
            detail=command.detail,
        )
    elif isinstance(command, DestroySubjectKey):
        await _destroy_key(ctx, state)
    elif isinstance(command, DeleteDocument):
        ctx.documents.delete(state.request_id)
        await audit(ctx, "document_deleted", request_id=state.request_id, dedup="document", detail=_why_deleted(state))
    elif isinstance(command, PurgeCaseRecord):
        await _purge(ctx, state)


def _still_out(state: CaseState, email: SendEmail) -> bool:
    """Not reported sent or parked (a case recorded before mail_out existed: its type not sent)."""
    return email_id(state, email.command_id) in state.mail_out or email.message_type not in state.emails_sent


def _why_deleted(state: CaseState) -> dict:
    """R16: the record keeps that a document existed and when it went, never what it showed."""
    return {"after": "check" if state.identity_checked else "closure", "checked": state.identity_checked}


async def _purge(ctx: Context, state: CaseState) -> None:
    """R51: nothing kept for the case outlives its record: stored files, the mailer's record of its e-mails.
    The audit keeps that it went and when it had closed, nothing about the person."""
    ctx.exports.delete(state.request_id)
    ctx.documents.delete(state.request_id)
    forget = ForgetSentEmails(request_id=state.request_id)
    await ctx.publisher.publish(topics.NOTIFICATIONS, state.request_id, forget.to_bytes())
    closed_at = state.closed_at.isoformat() if state.closed_at else None
    detail = {"closed_at": closed_at, "retention_days": ctx.config.policy.case_retention.days}
    await audit(ctx, "case_purged", request_id=state.request_id, dedup="purged", detail=detail)


async def _issue_task(ctx: Context, state: CaseState, command: IssueTask, now: datetime) -> None:
    record = TaskRecord(
        task_id="", system=command.system, action=command.action, key=command.key, params=command.params, issued_at=now
    )
    await _publish_task(ctx, state, record, "task_issued", dedup="")


async def _resend_task(ctx: Context, state: CaseState, command: ResendTask) -> None:
    """The very task sent before (same id, content and issue time), for a system that never got it."""
    record = state.tasks.get(command.task_id)
    if record is not None and record.status is None:
        await _publish_task(ctx, state, record, "task_resent", dedup=command.command_id)


async def _publish_task(ctx: Context, state: CaseState, record: TaskRecord, kind: str, dedup: str) -> None:
    if state.subject is None:
        raise Rejected("case has no sealed subject left to issue a task for")
    task = Task(
        task_id=task_id(state, record.system, record.action, record.key),
        subject_request_id=state.request_id,
        system=record.system,
        action=record.action,
        subject_ref=state.subject_ref,
        subject=_addressed(ctx, state.subject, record.system),
        payload=_payload_for(ctx, state, record.action, record.system),
        issued_at=record.issued_at,
        **record.params,
    )
    await ctx.publisher.publish(topics.tasks(record.system), state.request_id, task.to_bytes())
    await audit(
        ctx,
        kind,
        request_id=state.request_id,
        system=record.system,
        action=record.action.value,
        dedup=dedup or task.task_id,
    )


def _payload_for(ctx: Context, state: CaseState, action: TaskAction, system: str) -> Sealed | None:
    if action not in SEALED_PAYLOAD_ACTIONS or state.payload is None:
        return None
    return _addressed(ctx, state.payload, system)


def _addressed(ctx: Context, sealed: Sealed, system: str) -> Sealed:
    """Sealed anew for that one system. A key destroyed by another case of the same person leaves the value
    as it is: unreadable for everyone, so the system answers that the subject is forgotten."""
    try:
        return ctx.sealer.address(sealed, system)
    except SubjectForgotten:
        return sealed


async def _send_email(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> None:
    try:
        if command.message_type in COPY_MESSAGES:
            build_access_package(ctx, state)
        request = email_for(ctx, state, command, now)
    except SubjectForgotten:
        await audit(
            ctx,
            "email_skipped_subject_forgotten",
            request_id=state.request_id,
            message_type=command.message_type,
            dedup=command.command_id,
        )
        return
    await ctx.publisher.publish(topics.NOTIFICATIONS, state.request_id, request.to_bytes())


async def _follow_up_email(ctx: Context, state: CaseState, command: FollowUpEmail) -> None:
    """Behind the e-mail's request on its partition: the mailer has seen that request, or never will."""
    asked = EmailFollowedUp(
        request_id=state.request_id,
        message_id=command.message_id,
        message_type=command.message_type,
        recipient=command.recipient,
    )
    await ctx.publisher.publish(topics.NOTIFICATIONS, state.request_id, asked.to_bytes())


async def _destroy_key(ctx: Context, state: CaseState) -> None:
    ctx.exports.delete(state.request_id)
    ctx.documents.delete(state.request_id)
    ctx.sealer.forget(state.subject_ref)
    await audit(ctx, "key_destroyed", request_id=state.request_id, subject_ref=state.subject_ref, dedup="key")


async def _audit_change(ctx: Context, before: CaseState | None, after: CaseState, event) -> None:
    if before is not None and before.status == after.status:
        return
    await audit(
        ctx,
        "case_status_changed",
        request_id=after.request_id,
        subject_ref=after.subject_ref,
        status=after.status.value,
        dedup=f"status:{after.status.value}",
        detail={
            "from": before.status.value if before else None,
            "event": event.kind,
            "right": after.right.value,
            "deadline": after.deadline.isoformat(),
        },
    )


def due_ticks(cases: CaseTable, now: datetime, ctx: Context) -> list[ClockTicked]:
    """For the timer: one tick per case that has something due at `now`. Reads only the cases the agenda
    says are due, so closed cases waiting for their purge date cost nothing (read-only on the table)."""
    ticks = []
    for request_id in cases.agenda.due(now):
        ctx.metrics.clock_examined.inc()
        state = load(cases, request_id)
        if state is None:
            cases.agenda.note(request_id, None)  # its partition went to another worker
        elif decide(state, now, ctx.config.policy):
            ticks.append(ClockTicked(request_id=request_id, now=now))
    return ticks
