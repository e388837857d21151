"""Consumes `dsr.notifications`: renders and sends each e-mail once; defers transient failures, parks the rest."""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping, Sequence
from datetime import date, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from jinja2 import TemplateError
from pydantic import ValidationError

from gdpr.lifecycle import stable_id
from mail.ledger import Claim
from mail.retry import PendingRetry
from mail.templates import RenderedEmail
from mail.transport import PermanentMailError, TransientMailError
from schemas.cases import EmailParked, EmailSent
from schemas.intake import describe
from schemas.notifications import (
    EmailFollowedUp,
    EmailRequested,
    ForgetSentEmails,
    MessageType,
    Recipient,
    parse_mailer_command,
)
from streams import request_log, topics
from streams.audit import audit
from streams.context import Context
from streams.dead_letters import Rejected
from streams.sealing import SubjectForgotten
from streams.tables import forget

SentTable = MutableMapping[str, bytes]
RetryTable = MutableMapping[str, bytes]  # message id -> PendingRetry; written by the mailer only
Headers = Sequence[tuple[str, bytes]]
RETRY_TURN = "dsr-mail-retry-turn"  # on an e-mail the clock sends back: the failures count whose retry it is
TURN_LOST_AFTER = timedelta(minutes=5)  # a retry's copy not taken by the mailer by then is sent again
TurnsSent = dict[str, tuple[int, datetime]]  # message id -> the turn the clock sent back, and when
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


def scrub(text: str) -> str:
    """SMTP replies quote addresses; audit records and logs must not."""
    return _ADDRESS.sub("<address>", text)


async def on_mailer_command(
    ctx: Context, sent: SentTable, retries: RetryTable, raw: bytes, headers: Headers = ()
) -> None:
    """The topic's entry: an e-mail to send, a case's question about one, or a purged case's record to forget."""
    try:
        command = parse_mailer_command(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid e-mail request: {describe(exc)}") from None
    request_log.concerns(command.request_id)
    if isinstance(command, ForgetSentEmails):
        await on_forget_sent_emails(ctx, sent, command)
    elif isinstance(command, EmailFollowedUp):
        await on_email_followed_up(ctx, sent, retries, command)
    else:
        await on_email_requested(ctx, sent, retries, command, headers)


def sent_of(sent: SentTable, request_id: str) -> dict[str, str]:
    """The sent-e-mail record of one case (or form submission): message id -> when the SMTP server took it."""
    raw = sent.get(request_id)
    return json.loads(raw) if raw else {}


def was_sent(sent: SentTable, request: EmailRequested) -> bool:
    # Records written before they were grouped by case are keyed by the message id itself.
    return request.message_id in sent_of(sent, request.request_id) or request.message_id in sent


async def on_forget_sent_emails(ctx: Context, sent: SentTable, command: ForgetSentEmails) -> None:
    """R51: the record goes with its case; the audit keeps how many e-mails it listed, not to whom."""
    forgotten = len(sent_of(sent, command.request_id))
    forget(sent, command.request_id)
    ctx.sent_ledger.forget_case(command.request_id)
    await audit(ctx, "sent_emails_forgotten", request_id=command.request_id, dedup="sent", detail={"emails": forgotten})


async def on_email_followed_up(ctx: Context, sent: SentTable, retries: RetryTable, asked: EmailFollowedUp) -> None:
    """The case never heard of this e-mail. Its request came before this question on the same partition, so the
    mailer has seen it, unless it was lost on the way: sent, the case is told again; waiting for its retry, the
    retry will tell it; otherwise it never reached the mailer (or was parked and the case not told), and the
    mailer holds nothing to send it from: parked, so that the case lets the key go (the audit says why)."""
    when = sent_of(sent, asked.request_id).get(asked.message_id)
    if when is not None:
        await _tell_case(ctx, asked, datetime.fromisoformat(when))
    elif asked.message_id in sent or ctx.sent_ledger.sent([asked.message_id]):
        await _tell_case(ctx, asked, ctx.clock())  # sent by another worker, or recorded before records had cases
    elif asked.message_id not in retries:
        await _park_lost(ctx, asked)


async def _park_lost(ctx: Context, asked: EmailFollowedUp) -> None:
    now, reason = ctx.clock(), "the request never reached the mailer (lost on the way)"
    ctx.metrics.emails_parked.labels(asked.message_type).inc()
    parked = EmailParked(
        request_id=asked.request_id,
        message_type=asked.message_type,
        message_id=asked.message_id,
        parked_at=now,
        reason=reason,
    )
    await ctx.publisher.publish(topics.CASES, asked.request_id, parked.to_bytes())
    await audit(
        ctx,
        "email_lost",
        request_id=asked.request_id,
        message_type=asked.message_type,
        dedup=asked.message_id,
        detail={"reason": reason},
    )


async def on_email_requested(
    ctx: Context, sent: SentTable, retries: RetryTable, request: EmailRequested, headers: Headers = ()
) -> None:
    if was_sent(sent, request):
        forget(retries, request.message_id)
        await _tell_case_again(ctx, sent, request)
        return  # already accepted by the SMTP server once: never twice
    pending = _pending(retries, request.message_id)
    if not _its_turn(pending, _turn(headers)):
        return  # a stale copy: the e-mail waits for the clock, or went out or was parked meanwhile
    if await _claimed_elsewhere(ctx, sent, retries, request, pending):
        return
    try:
        message = compose(ctx, request)
    except SubjectForgotten:
        _give_up(ctx, retries, request)
        raise Rejected("the subject's key was destroyed before this e-mail could be sent") from None
    except (ValueError, TemplateError) as exc:  # a template or its values are wrong: the DPO must see it
        _give_up(ctx, retries, request)
        await park(ctx, request, f"cannot render the e-mail: {type(exc).__name__}", _tries(pending))
        return
    await _attempt(ctx, sent, retries, request, pending, message)


async def _claimed_elsewhere(
    ctx: Context, sent: SentTable, retries: RetryTable, request: EmailRequested, pending: PendingRetry | None
) -> bool:
    """The shared ledger first, before the e-mail is even rendered (the case may have destroyed the key since
    another worker sent it): sent elsewhere is done here too; being sent elsewhere waits for the mail clock."""
    claim = ctx.sent_ledger.claim(request.message_id, request.request_id, ctx.clock())
    if claim == Claim.SENT:
        forget(retries, request.message_id)
        await _record_sent(ctx, sent, request, counted=False)
    elif claim == Claim.HELD:
        await _defer(ctx, retries, request, pending, "another worker was sending it")
    return claim != Claim.SEND


def _give_up(ctx: Context, retries: RetryTable, request: EmailRequested) -> None:
    ctx.sent_ledger.release(request.message_id)
    forget(retries, request.message_id)


def _pending(retries: RetryTable, message_id: str) -> PendingRetry | None:
    raw = retries.get(message_id)
    return PendingRetry.from_bytes(raw) if raw else None


def _turn(headers: Headers) -> int | None:
    value = next((v for k, v in headers if k == RETRY_TURN), None)
    return int(value) if value is not None and value.isdigit() else None


def _its_turn(pending: PendingRetry | None, turn: int | None) -> bool:
    """A new e-mail (or one the DPO sends again) goes at once; one waiting goes only on the clock's copy of its
    current turn, so replays and duplicates neither jump the queue nor count as failures."""
    return turn is None if pending is None else turn == pending.failures


def _tries(pending: PendingRetry | None) -> int:
    return (pending.failures if pending else 0) + 1


async def _attempt(
    ctx: Context,
    sent: SentTable,
    retries: RetryTable,
    request: EmailRequested,
    pending: PendingRetry | None,
    message: Message,
) -> None:
    """One attempt (this worker holds the ledger's claim), never a pause: a transient failure waits in the retry
    table, the mailer goes on."""
    try:
        await ctx.transport.send(message)
    except PermanentMailError as exc:
        _give_up(ctx, retries, request)
        await park(ctx, request, scrub(f"permanent SMTP failure: {exc}"), _tries(pending))
        return
    except TransientMailError as exc:
        ctx.sent_ledger.release(request.message_id)
        await _defer(ctx, retries, request, pending, scrub(f"transient SMTP failure: {exc}"))
        return
    ctx.sent_ledger.mark_sent(request.message_id, ctx.clock())
    forget(retries, request.message_id)
    await _record_sent(ctx, sent, request)


async def _defer(
    ctx: Context, retries: RetryTable, request: EmailRequested, pending: PendingRetry | None, reason: str
) -> None:
    """Capped backoff within the budget (DSR_MAIL_RETRY_HOURS), as a mail server queues; parked only after it."""
    now = ctx.clock()
    failures, first = _tries(pending), pending.first_failure if pending else now
    policy = ctx.config.mail_retry
    next_at = policy.next_attempt(first, failures, now)
    if next_at is None:
        forget(retries, request.message_id)
        hours = policy.budget.total_seconds() / 3600
        await park(ctx, request, f"{reason} (still failing after {hours:g} h of retries)", failures)
        return
    waiting = PendingRetry(
        request=request.model_dump_json(), failures=failures, first_failure=first, next_at=next_at, last_error=reason
    )
    retries[request.message_id] = waiting.to_bytes()
    ctx.metrics.emails_deferred.labels(request.message_type).inc()
    if pending is None:
        detail = {"reason": reason[:500], "retry_until": (first + policy.budget).isoformat()}
        await audit(
            ctx,
            "email_deferred",
            request_id=request.request_id,
            message_type=request.message_type,
            dedup=request.message_id,
            detail=detail,
        )


async def send_due_retries(ctx: Context, retries: RetryTable, now, turns_sent: TurnsSent) -> None:
    """For the clock: each e-mail whose next attempt is due goes back to the mailer, once per turn (`turns_sent`
    remembers them in this process; a copy sent twice is dropped by the mailer), and again if that turn is still
    waiting TURN_LOST_AFTER later: the copy was lost on the way (faust may commit past a message after a rebalance),
    and the e-mail would otherwise wait for this worker's restart."""
    for message_id, raw in list(retries.items()):
        pending = PendingRetry.from_bytes(raw)
        if pending.next_at > now or _turn_on_its_way(turns_sent.get(message_id), pending, now):
            continue
        request = EmailRequested.model_validate_json(pending.request)
        turn = {RETRY_TURN: str(pending.failures)}
        await ctx.publisher.publish(topics.NOTIFICATIONS, request.request_id, pending.request.encode(), turn)
        turns_sent[message_id] = (pending.failures, now)
    for gone in set(turns_sent) - set(retries.keys()):
        del turns_sent[gone]


def _turn_on_its_way(sent: tuple[int, datetime] | None, pending: PendingRetry, now: datetime) -> bool:
    return sent is not None and sent[0] == pending.failures and now - sent[1] < TURN_LOST_AFTER


def render_request(ctx: Context, request: EmailRequested) -> RenderedEmail:
    """The e-mail exactly as it will be sent: public values, the sealed ones opened, the controller's name."""
    values = revive({**request.context, **(ctx.sealer.open(request.sealed_context) if request.sealed_context else {})})
    values |= {"controller": ctx.config.controller.as_context(), "language": request.language}
    return ctx.renderer.render(request.message_type, request.language, values)


def compose(ctx: Context, request: EmailRequested) -> Message:
    to = ctx.config.controller.dpo_email if request.recipient == Recipient.DPO else ctx.sealer.open(request.to)["email"]
    rendered = render_request(ctx, request)
    # The compat32 MIME classes build and serialise about three times faster than EmailMessage,
    # which was a fifth of the worker's CPU (docs/benchmarks.md).
    message = MIMEMultipart("alternative")
    message["From"] = _address(ctx.config.mail_from)
    message["To"] = to
    message["Subject"] = Header(rendered.subject, "utf-8")
    message["Message-ID"] = f"<{request.message_id}@dsr-pipeline>"  # deterministic: receivers can deduplicate
    message["Date"] = format_datetime(ctx.clock())
    message["Auto-Submitted"] = "auto-generated"
    message["X-DSR-Reference"] = str(request.context.get("case_reference") or request.context.get("reference", ""))
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return message


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def revive(values):
    """Dates travel as ISO strings; templates want date and datetime objects back."""
    if isinstance(values, dict):
        return {k: revive(v) for k, v in values.items()}
    if isinstance(values, list):
        return [revive(v) for v in values]
    if isinstance(values, str) and _DATE.match(values):
        return date.fromisoformat(values)
    if isinstance(values, str) and _DATETIME.match(values):
        return datetime.fromisoformat(values)
    return values


async def _record_sent(ctx: Context, sent: SentTable, request: EmailRequested, counted: bool = True) -> None:
    """In this worker's table and to the case; `counted=False`: another worker sent it and may have died before
    telling the case, which takes the news twice without harm (its audit and its state deduplicate)."""
    now = ctx.clock()
    record = sent_of(sent, request.request_id) | {request.message_id: now.isoformat()}
    sent[request.request_id] = json.dumps(record).encode()  # keyed by case: purged with it in one delete (R51)
    if counted:
        ctx.metrics.emails_sent.labels(request.message_type).inc()
    await _tell_case(ctx, request, now)


async def _tell_case(ctx: Context, request: EmailRequested | EmailFollowedUp, sent_at: datetime) -> None:
    event = EmailSent(
        request_id=request.request_id,
        message_type=request.message_type,
        message_id=request.message_id,
        sent_at=sent_at,
        recipient=request.recipient.value,
    )
    # The coordinator records it in dsr.audit (email_sent), in the batch of the step this event starts.
    await ctx.publisher.publish(topics.CASES, request.request_id, event.to_bytes())


async def _tell_case_again(ctx: Context, sent: SentTable, request: EmailRequested) -> None:
    """A copy of an e-mail this table knows as sent: the worker that sent it may have died before telling the
    case, which waits for the news to let the key go; told again, with the first sending's time."""
    when = sent_of(sent, request.request_id).get(request.message_id)
    if when is not None:
        await _tell_case(ctx, request, datetime.fromisoformat(when))


async def park(ctx: Context, request: EmailRequested, reason: str, attempts: int = 1) -> None:
    """Never drop: keep the sealed request where the DPO sees it, tell the case and the DPO."""
    now = ctx.clock()
    ctx.metrics.emails_parked.labels(request.message_type).inc()
    await ctx.publisher.publish(
        topics.NOTIFICATIONS_PARKED,
        request.request_id,
        request.to_bytes(),
        {"dsr-parked-reason": reason[:1000], "dsr-parked-at": now.isoformat()},
    )
    parked = EmailParked(
        request_id=request.request_id,
        message_type=request.message_type,
        message_id=request.message_id,
        parked_at=now,
        reason=reason[:1000],
    )
    await ctx.publisher.publish(topics.CASES, request.request_id, parked.to_bytes())
    await audit(
        ctx,
        "email_parked",
        request_id=request.request_id,
        message_type=request.message_type,
        dedup=request.message_id,
        detail={"reason": reason[:500], "attempts": attempts},
    )
    if request.recipient != Recipient.DPO:
        await _tell_dpo(ctx, request, reason, now, attempts)


async def _tell_dpo(ctx: Context, request: EmailRequested, reason: str, now: datetime, attempts: int) -> None:
    notice = EmailRequested(
        message_id=stable_id(request.message_id, "parked"),
        request_id=request.request_id,
        message_type=MessageType.DPO_MAIL_PARKED,
        language=ctx.config.dpo_language,
        recipient=Recipient.DPO,
        context={
            "case_reference": request.context.get("case_reference") or request.context.get("reference", ""),
            "message_type": request.message_type,
            "attempts": attempts,
            "last_error": reason[:300],
        },
        requested_at=now,
    )
    await ctx.publisher.publish(topics.NOTIFICATIONS, request.request_id, notice.to_bytes())
