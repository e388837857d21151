"""Turns a SendEmail command into an e-mail request: template values, personal parts sealed."""

from __future__ import annotations

from datetime import datetime

from gdpr.lifecycle import CaseState, SendEmail, stable_id
from schemas.notifications import EmailRequested, Recipient
from streams.context import Context
from streams.intake import reference
from streams.notice_values import VALUES, dpo_values


def email_for(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> EmailRequested:
    to_subject = command.recipient == Recipient.SUBJECT
    maker = VALUES.get(command.message_type) if to_subject else dpo_values
    if maker is None:
        raise ValueError(f"no template values for message type '{command.message_type}'")
    public, secret = maker(ctx, state, command, now)
    to = (state.reply_to or state.subject) if to_subject else None  # LIL 85: an heir gets the answers
    if to_subject and to is None:
        raise ValueError("case has no sealed address left to write to")
    return EmailRequested(
        message_id=stable_id(state.request_id, command.command_id),
        request_id=state.request_id,
        message_type=command.message_type,
        language=state.language.value if to_subject else ctx.config.dpo_language,
        recipient=Recipient(command.recipient),
        to=to,
        context={"case_reference": reference(state.request_id), **public},
        sealed_context=ctx.sealer.seal_existing(state.subject_ref, secret) if secret else None,
        requested_at=now,
    )
