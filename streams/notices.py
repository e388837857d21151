"""Turns a SendEmail command into an e-mail request: mail.values read from the context, personal parts sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gdpr.identity import answers_requester
from gdpr.lifecycle import CaseState, SendEmail, email_id
from mail.sources import Records
from mail.values import VALUES, dpo_values
from schemas.notifications import EmailRequested, Recipient
from schemas.sealed import Sealed
from streams import access_package, links
from streams.context import Context
from streams.intake import reference
from streams.register_view import RegisterView


def email_for(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> EmailRequested:
    to_person = command.recipient != Recipient.DPO
    maker = VALUES.get(command.message_type) if to_person else dpo_values
    if maker is None:
        raise ValueError(f"no template values for message type '{command.message_type}'")
    public, secret = maker(ContextSources(ctx), state, command, now)
    to = address(state, Recipient(command.recipient))
    if to_person and to is None:
        raise ValueError("case has no sealed address left to write to")
    return EmailRequested(
        message_id=email_id(state, command.command_id),
        request_id=state.request_id,
        message_type=command.message_type,
        language=state.language.value if to_person else ctx.config.dpo_language,
        recipient=Recipient(command.recipient),
        to=to,
        context={"case_reference": reference(state.request_id), **public},
        sealed_context=ctx.sealer.seal_existing(state.subject_ref, secret) if secret else None,
        requested_at=now,
    )


def address(state: CaseState, recipient: Recipient) -> Sealed | None:
    """Where an e-mail goes: the DPO's mailbox (None), the requester at another address (L2), an heir,
    executor or representative (LIL 85, R6), else the address on file (R18)."""
    if recipient == Recipient.DPO:
        return None
    if recipient == Recipient.REQUESTER or answers_requester(state):
        return state.requester
    return state.reply_to or state.subject


@dataclass(frozen=True)
class ContextSources:
    """mail.sources.ValueSources on a stream context: its settings, register, sealer, links and export store."""

    ctx: Context

    @property
    def status_ttl(self) -> timedelta:
        return self.ctx.config.status_ttl

    @property
    def verification_ttl(self) -> timedelta:
        return self.ctx.config.verification_ttl

    @property
    def verification_expiry(self) -> timedelta:
        return self.ctx.config.policy.verification_expiry

    @property
    def download_ttl(self) -> timedelta:
        return self.ctx.config.download_ttl

    @property
    def register(self) -> RegisterView:
        return self.ctx.register

    def open(self, sealed: Sealed) -> dict:
        return self.ctx.sealer.open(sealed)

    def case_link(self, request_id: str, purpose: str, expires: datetime, token_id: str | None = None) -> str:
        return links.case_link(self.ctx, request_id, purpose, expires, token_id)

    def form_link(self, form: str) -> str:
        return links.form_link(self.ctx, form)

    def person_records(self, state: CaseState) -> dict[str, Records]:
        return access_package.person_records(self.ctx, state)

    def selected_records(self, state: CaseState) -> dict[str, Records]:
        return access_package.selected_records(self.ctx, state)
