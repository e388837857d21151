"""Cases as the coordinator holds them, and the e-mails it would send for them, rendered (no faust, no SMTP)."""

from __future__ import annotations

from datetime import UTC, datetime

from dsr.register import load_register
from gdpr.commands import CasePolicy, SendEmail
from gdpr.lifecycle import CaseState, decide, evolve, record_done, task_id
from mail.templates import RenderedEmail
from mail.transport import MemoryMailTransport
from schemas.cases import CaseOpened, IdentityConfirmed, RequestDetails, TaskAnswered
from schemas.intake import Language, Right
from schemas.tasks import TaskAction, TaskResult, TaskStatus
from streams.context import Context, Controller, PipelineConfig
from streams.notices import email_for
from streams.notifications import render_request
from streams.ports import MemoryExportStore, MemoryKeyVault
from streams.register_view import RegisterView

SYSTEMS = ("crm", "recruitment", "newsletter", "directives")
T0 = datetime(2027, 3, 5, 10, 0, tzinfo=UTC)  # LEGAL V1: D1 2027-04-05
EMAIL = "camille@example.test"

# The person's records per system, as the reference systems export them.
PROSPECT = {
    "crm": {
        "person": [{"first_name": "Camille", "created_at": "2027-02-01", "lead_score": 10, "_origin": "provided"}],
        "quote_requests": [{"service": "plomberie", "submitted_at": "2027-02-01", "_origin": "provided"}],
    }
}
CUSTOMER = {
    "crm": {
        **PROSPECT["crm"],
        "invoices": [{"number": "F-1", "issued_at": "2026-05-02", "paid_at": "2026-05-20", "_origin": "observed"}],
        "consents": [{"channel": "email", "granted": True, "recorded_at": "2026-05-02", "_origin": "provided"}],
        "contact_messages": [{"message": "Bonjour", "submitted_at": "2026-06-01", "_origin": "provided"}],
    },
    "newsletter": {
        "subscription": [{"subscribed_at": "2026-05-02", "_origin": "provided"}],
        "campaign_events": [{"event": "clicked", "at": "2026-09-01", "_origin": "observed"}],
    },
}
CANDIDATE = {
    "recruitment": {
        "candidate": [{"candidate_kind": "employee", "talent_pool_consent": False, "_origin": "provided"}],
        "applications": [{"position": "Technicien", "assessment": "B", "_origin": "provided"}],
        "cv_files": [{"path": "cv.pdf", "_origin": "provided"}],
    }
}


class Recorder:
    """Publisher port that keeps what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str | None, bytes]] = []

    async def publish(self, topic, key, value, headers=None) -> None:
        self.published.append((topic, key, value))


def context(now: datetime = T0) -> Context:
    register = RegisterView(load_register())
    named = register.register.controller
    config = PipelineConfig(
        secret_key=b"k" * 32,
        public_url="http://dsr.test",
        systems=SYSTEMS,
        mail_from="dpo@example.test",
        controller=Controller(name=named.name, postal_address=named.address),
        policy=CasePolicy(recipients_by_system=register.recipients_by_system()),
    )
    return Context(
        config=config,
        vault=MemoryKeyVault(),
        transport=MemoryMailTransport(),
        exports=MemoryExportStore(clock=lambda: now),
        publisher=Recorder(),
        register=register,
        clock=lambda: now,
    )


def opened(ctx: Context, right: Right, received: datetime = T0, language=Language.FR, **fields) -> CaseState:
    ref = ctx.sealer.ref(EMAIL)
    details = fields.pop("details", {})
    event = CaseOpened(
        request_id="r1",
        source_event_id="e1",
        subject_ref=ref,
        right=right,
        language=language,
        received_at=received,
        systems=list(SYSTEMS),
        marketing_systems=["crm", "newsletter"],
        subject=ctx.sealer.seal(ref, {"email": EMAIL, "name": "Camille Durand"}),
        details=RequestDetails(**details),
        **fields,
    )
    return evolve(None, event)


def carry(ctx: Context, state: CaseState, now: datetime) -> tuple[CaseState, list]:
    """What the coordinator does: decide, then record each command as carried out."""
    commands = decide(state, now, ctx.config.policy)
    for command in commands:
        state = record_done(state, command, now)
    return state, commands


def answer(state: CaseState, system: str, action: TaskAction, at: datetime, key: str = "", **fields) -> CaseState:
    portable = fields.pop("portable_items", None)
    result = TaskResult(
        task_id=task_id(state, system, action, key),
        subject_request_id=state.request_id,
        system=system,
        action=action,
        status=fields.pop("status", TaskStatus.DONE),
        completed_at=at,
        **fields,
    )
    return evolve(state, TaskAnswered(request_id=state.request_id, result=result, portable_items=portable))


def discovered(ctx: Context, state: CaseState, holdings: dict, at: datetime = T0) -> CaseState:
    state, _ = carry(ctx, state, at)
    for system in SYSTEMS:
        state = answer(state, system, TaskAction.LOOKUP, at, holds_data=system in holdings)
    return state


def confirm(ctx: Context, state: CaseState, at: datetime) -> CaseState:
    state, _ = carry(ctx, state, at)
    return evolve(state, IdentityConfirmed(request_id="r1", token_id=state.verification_token_id, confirmed_at=at))


def exported(ctx: Context, state: CaseState, holdings: dict, at: datetime) -> CaseState:
    """Every holder answers its export; the sealed copy goes to the export store, as task_results does."""
    for system, records in holdings.items():
        part = ctx.sealer.seal(state.subject_ref, {"system": system, "records": records})
        ctx.exports.put_part(state.request_id, system, part)
        count = sum(len(rows) for rows in records.values())
        portable = sum(len(rows) for rows in ctx.register.portable(system, records).values())
        state = answer(state, system, TaskAction.EXPORT, at, exported_items=count, portable_items=portable)
    return state


def email(ctx: Context, state: CaseState, message_type: str, now: datetime = T0, **params) -> RenderedEmail:
    """The e-mail the coordinator would send for this case, rendered as the SMTP server would receive it."""
    recipient = params.pop("recipient", "dpo" if message_type.startswith("dpo_") else "subject")
    command = SendEmail(f"email:{message_type}", message_type, recipient, params)
    return render_request(ctx, email_for(ctx, state, command, now))
