"""Consumes `dsr.notifications`: renders and sends each e-mail once, retries, parks what cannot be sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from datetime import date, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from jinja2 import TemplateError
from pydantic import ValidationError

from gdpr.lifecycle import stable_id
from mail.templates import RenderedEmail
from mail.transport import PermanentMailError, TransientMailError
from schemas.cases import EmailParked, EmailSent
from schemas.intake import describe
from schemas.notifications import EmailRequested, Recipient
from streams import topics
from streams.audit import audit
from streams.context import Context
from streams.dead_letters import Rejected
from streams.sealing import SubjectForgotten

SentTable = MutableMapping[str, bytes]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


def scrub(text: str) -> str:
    """SMTP replies quote addresses; audit records and logs must not."""
    return _ADDRESS.sub("<address>", text)


async def on_email_requested(ctx: Context, sent: SentTable, raw: bytes) -> None:
    try:
        request = EmailRequested.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(f"invalid e-mail request: {describe(exc)}") from None
    if request.message_id in sent:
        return  # already accepted by the SMTP server once: never twice
    try:
        message = compose(ctx, request)
    except SubjectForgotten:
        raise Rejected("the subject's key was destroyed before this e-mail could be sent") from None
    except (ValueError, TemplateError) as exc:  # a template or its values are wrong: the DPO must see it
        await park(ctx, request, f"cannot render the e-mail: {type(exc).__name__}")
        return
    failure = await deliver(ctx, message)
    if failure is None:
        await _record_sent(ctx, sent, request)
    else:
        await park(ctx, request, failure)


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


async def deliver(ctx: Context, message: Message) -> str | None:
    """Send with exponential backoff; return None when accepted, else the last failure (no addresses in it)."""
    reason = "not attempted"
    for attempt in range(1, ctx.config.smtp_attempts + 1):
        try:
            await ctx.transport.send(message)
            return None
        except PermanentMailError as exc:
            return scrub(f"permanent SMTP failure: {exc}")
        except TransientMailError as exc:
            reason = scrub(f"transient SMTP failure after {attempt} attempt(s): {exc}")
        if attempt < ctx.config.smtp_attempts:
            await asyncio.sleep(ctx.config.smtp_backoff * 2 ** (attempt - 1))
    return reason


async def _record_sent(ctx: Context, sent: SentTable, request: EmailRequested) -> None:
    now = ctx.clock()
    sent[request.message_id] = now.isoformat().encode()
    ctx.metrics.emails_sent.labels(request.message_type).inc()
    event = EmailSent(
        request_id=request.request_id,
        message_type=request.message_type,
        message_id=request.message_id,
        sent_at=now,
        recipient=request.recipient.value,
    )
    # The coordinator records it in dsr.audit (email_sent), in the batch of the step this event starts.
    await ctx.publisher.publish(topics.CASES, request.request_id, event.to_bytes())


async def park(ctx: Context, request: EmailRequested, reason: str) -> None:
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
        detail={"reason": reason[:500], "attempts": ctx.config.smtp_attempts},
    )
    if request.recipient != Recipient.DPO:
        await _tell_dpo(ctx, request, reason, now)


async def _tell_dpo(ctx: Context, request: EmailRequested, reason: str, now: datetime) -> None:
    notice = EmailRequested(
        message_id=stable_id(request.message_id, "parked"),
        request_id=request.request_id,
        message_type="dpo_mail_parked",
        language=ctx.config.dpo_language,
        recipient=Recipient.DPO,
        context={
            "case_reference": request.context.get("case_reference") or request.context.get("reference", ""),
            "message_type": request.message_type,
            "attempts": ctx.config.smtp_attempts,
            "last_error": reason[:300],
        },
        requested_at=now,
    )
    await ctx.publisher.publish(topics.NOTIFICATIONS, request.request_id, notice.to_bytes())
