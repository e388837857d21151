"""Consumes `dsr.intake`: validates each CloudEvent, opens cases, routes form submissions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gdpr.case_state import HEIR_ACTIONS
from gdpr.deadlines import receipt_day
from gdpr.identity import identity_level
from gdpr.lifecycle import stable_id
from gdpr.minors import consent_is_valid, minor_on
from gdpr.routing import data_categories, submission_systems
from gdpr.sealing import Lease
from schemas.cases import CaseOpened, IdentityLevel, PostMortemFacts, RequestDetails
from schemas.cloudevents_binding import from_kafka
from schemas.intake import (
    FORM_TYPES,
    Channel,
    CloudEvent,
    ConsentChanged,
    EventType,
    IntakeError,
    MarketingConsent,
    PostMortemAction,
    Right,
    RightsRequested,
    parse_intake,
)
from schemas.notifications import EmailRequested, MessageType, Recipient
from schemas.tasks import Task, TaskAction
from streams import request_log, topics
from streams.audit import audit
from streams.context import Context
from streams.dead_letters import Rejected

SITE_EXTENSION = "dsrsite"  # set by POST /intake to the site its key names; a site cannot choose it

FORM_KINDS = {
    EventType.QUOTE_REQUESTED: "quote",
    EventType.CONTACT_SUBMITTED: "contact",
    EventType.JOB_APPLICATION_SUBMITTED: "job_application",
}


def intake_id(kind: str, event: CloudEvent) -> str:
    """The id of what an event opens ("request": its case, "submission": a form's record), the same on every
    replay. CloudEvents makes source + id unique, and each website names its own ids: an event a website posted
    is scoped by its site and source. Events of the company's own producers on dsr.intake and of the privacy
    center keep the id alone (ids unique across them, as before), so every request id issued so far stays."""
    site = event.extensions.get(SITE_EXTENSION)
    return stable_id(kind, event.id) if site is None else stable_id(kind, event.id, f"site:{site}", event.source)


async def on_intake_message(ctx: Context, raw: bytes, headers: Iterable[tuple[str, bytes]] | None = None) -> None:
    """One message of `dsr.intake`, in structured mode or in binary mode (ce_ headers, Kafka binding)."""
    try:
        event, data = parse_intake(from_kafka(headers, raw))
    except IntakeError as exc:
        raise Rejected(str(exc)) from None
    if event.type in FORM_TYPES:
        await on_form_submitted(ctx, event, data)
    elif event.type == EventType.RIGHTS_REQUESTED:
        await on_rights_requested(ctx, event, data)
    else:
        await on_consent_changed(ctx, event, data)


async def on_rights_requested(ctx: Context, event: CloudEvent, data: RightsRequested) -> None:
    """Open a case; the request id derives from the event's identity, so a duplicate opens nothing new."""
    try:
        details = checked_request(data)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    request_id = intake_id("request", event)
    request_log.concerns(request_id)
    ref = ctx.sealer.ref(data.email())
    opened = CaseOpened(
        request_id=request_id,
        source_event_id=event.id,
        subject_ref=ref,
        right=data.subject_request_type,
        language=data.language,
        received_at=data.submitted_time or event.time,  # R2: arrival at an official channel
        systems=list(ctx.config.systems),
        marketing_systems=[s for s in ctx.config.marketing_systems if s in ctx.config.systems],
        subject=ctx.sealer.seal(ref, {"email": data.email(), "name": data.subject_name or ""}),
        details=details,
        payload=_sealed_payload(ctx, ref, data),
        reply_to=_reply_to(ctx, ref, data),
        requester=_requester(ctx, ref, data, details),
    )
    await ctx.publisher.publish(topics.CASES, request_id, opened.to_bytes())
    await audit(
        ctx,
        "request_received",
        request_id=request_id,
        subject_ref=ref,
        dedup=event.id,
        detail={"right": data.subject_request_type.value, "source": event.source},
    )


def checked_request(data: RightsRequested) -> RequestDetails:
    """The request's procedural facts, or ValueError with what the law does not let us accept; the HTTP intake
    asks this before publishing, so that a website hears the reason at once (400) instead of a dead letter."""
    pm = data.post_mortem
    if pm is not None and pm.action in HEIR_ACTIONS and data.contact_email is None:
        raise ValueError(f"{pm.action.value} needs contact_email: the address of the heir or executor writing to us")
    return request_details(data)


def request_details(data: RightsRequested) -> RequestDetails:
    """The procedural facts of a request; raises ValueError for what the law does not let us accept."""
    pm = data.post_mortem
    if pm and pm.action == PostMortemAction.RECORD_DIRECTIVE and not pm.specific_consent:
        raise ValueError(
            "post_mortem.specific_consent must be true: directives need their own consent, "
            "accepting the terms and conditions is not consent (LIL 85-I, R38)"
        )
    facts = None
    if pm is not None:
        facts = PostMortemFacts(
            action=pm.action,
            requester_role=pm.requester_role,
            specific_consent=pm.specific_consent,
            proof_of_death=pm.proof_of_death,
            proof_of_standing=pm.proof_of_standing,
            wants_justification=pm.wants_justification,
            executor_named=bool(pm.executor_name),
        )
    death = pm is not None and pm.action in HEIR_ACTIONS
    agent = data.representative
    level = identity_level(
        data.identity_assurance, data.email(), None if death else data.contact_email, represented=agent is not None
    )
    return RequestDetails(
        identity_level=level,
        representative_role=agent.role if agent else None,
        mandate_provided=bool(agent and agent.mandate_provided),
        channels=data.channels,
        objection_scope=data.objection_scope if data.subject_request_type == Right.OBJECTION else None,
        restriction_ground=data.restriction_ground,
        minor_at_collection=data.minor_at_collection,
        post_mortem=facts,
    )


def _sealed_payload(ctx: Context, ref: str, data: RightsRequested):
    if data.rectification is not None:
        return ctx.sealer.seal(ref, {"changes": data.rectification.changes()})
    pm = data.post_mortem
    if pm is not None and pm.action == PostMortemAction.RECORD_DIRECTIVE:
        return ctx.sealer.seal(
            ref,
            {
                "instructions": pm.instructions or "",
                "executor_name": pm.executor_name or "",
                "specific_consent": True,
                "language": data.language.value,
            },
        )
    return None


def _reply_to(ctx: Context, ref: str, data: RightsRequested):
    """An heir or executor reporting a death gets the answers, not the deceased's address (LIL 85);
    so does a representative whose mandate says so (R6)."""
    agent = data.representative
    if agent is not None and agent.answer_to == "representative":
        return ctx.sealer.seal(ref, {"email": data.contact_email, "name": agent.name or ""})
    pm = data.post_mortem
    if pm is None or pm.action not in HEIR_ACTIONS:
        return None
    if data.contact_email is None:
        raise Rejected(f"{pm.action.value} needs contact_email: the address of the heir or executor writing to us")
    return ctx.sealer.seal(ref, {"email": data.contact_email, "name": pm.requester_name or ""})


def _requester(ctx: Context, ref: str, data: RightsRequested, details: RequestDetails):
    """L2: the address the request came from hears whether the check succeeded (Art. 11(2), 12(2))."""
    if details.identity_level != IdentityLevel.L2 or data.contact_email is None:
        return None
    return ctx.sealer.seal(ref, {"email": data.contact_email, "name": data.subject_name or ""})


async def on_form_submitted(ctx: Context, event: CloudEvent, data) -> None:
    """Record who gave which data to which system, with what consent; acknowledge to the person."""
    submission_id = intake_id("submission", event)
    request_log.concerns(submission_id)  # the submission's tasks and answers carry it as their request id
    ref = ctx.sealer.ref(data.email)
    data = _with_valid_consent(data, receipt_day(event.time))
    systems = submission_systems(event.type, data.marketing_consent, ctx.config.systems)
    for system in systems:
        await _send_submission_task(ctx, submission_id, system, ref, event, data)
    await audit(
        ctx,
        "submission_recorded",
        request_id=submission_id,
        subject_ref=ref,
        dedup=event.id,
        detail=_submission_facts(event, data, systems),
    )
    await _acknowledge(ctx, submission_id, ref, event, data)


async def on_consent_changed(ctx: Context, event: CloudEvent, data: ConsentChanged) -> None:
    submission_id = intake_id("submission", event)
    request_log.concerns(submission_id)  # the submission's tasks and answers carry it as their request id
    ref = ctx.sealer.ref(data.email)
    for system in [s for s in ("newsletter",) if s in ctx.config.systems]:
        await _send_submission_task(ctx, submission_id, system, ref, event, data)
    await audit(
        ctx,
        "consent_changed",
        request_id=submission_id,
        subject_ref=ref,
        dedup=event.id,
        detail={"channel": data.channel.value, "granted": data.granted, "wording_version": data.wording_version},
    )


async def _send_submission_task(ctx, submission_id, system, ref, event, data) -> None:
    """One task per system, its values sealed for that system alone."""
    task = Task(
        task_id=stable_id(submission_id, system, TaskAction.RECORD_SUBMISSION.value),
        subject_request_id=submission_id,
        system=system,
        action=TaskAction.RECORD_SUBMISSION,
        subject_ref=ref,
        subject=ctx.sealer.seal(ref, {"email": data.email, "name": _name(data)}, system, _lease(ctx, submission_id)),
        payload=ctx.sealer.seal(ref, data.model_dump(mode="json"), system, _lease(ctx, submission_id)),
        submission_type=event.type.value,
        issued_at=ctx.clock(),
    )
    await ctx.publisher.publish(topics.tasks(system), submission_id, task.to_bytes())


def _lease(ctx: Context, submission_id: str) -> Lease:
    """A form submission is no case: its person's key is leased while its sealed copies may still be read (the tasks,
    their dead letters, the acknowledgement's retries), then the clock destroys it, unless a case claimed it since
    (gdpr.sealing.Lease). A key a case already holds is used as it is."""
    return Lease(f"submission:{submission_id}", ctx.clock() + ctx.config.submission_key_ttl)


def _with_valid_consent(data, day):
    """Consent given under 15 without a parent's counts as no consent at all (LIL 45, R41)."""
    if consent_is_valid(data.birth_date, data.parental_consent, day):
        return data
    return data.model_copy(
        update={"marketing_consent": MarketingConsent(wording_version=data.marketing_consent.wording_version)}
    )


def _name(data) -> str:
    return f"{getattr(data, 'first_name', '')} {getattr(data, 'last_name', '')}".strip()


def _submission_facts(event: CloudEvent, data, systems: list[str]) -> dict:
    consent = data.marketing_consent
    return {
        "form": event.type.value,
        "systems": systems,
        "categories": data_categories(event.type),
        "consent": {c.value: getattr(consent, c.value) for c in Channel},
        "wording_version": consent.wording_version,
        "submitted_at": event.time.isoformat(),
        "minor_at_collection": minor_on(data.birth_date, receipt_day(event.time)),
    }


async def _acknowledge(ctx: Context, submission_id: str, ref: str, event: CloudEvent, data) -> None:
    request = EmailRequested(
        message_id=stable_id(submission_id, "email", MessageType.FORM_ACKNOWLEDGEMENT),
        request_id=submission_id,
        message_type=MessageType.FORM_ACKNOWLEDGEMENT,
        language=data.language.value,
        recipient=Recipient.SUBJECT,
        to=ctx.sealer.seal(ref, {"email": data.email, "name": _name(data)}, lease=_lease(ctx, submission_id)),
        context={
            "reference": reference(submission_id),
            "form_kind": FORM_KINDS[event.type],
            "submitted_on": _paris_day(event.time),
        },
        requested_at=ctx.clock(),
    )
    await ctx.publisher.publish(topics.NOTIFICATIONS, submission_id, request.to_bytes())


def reference(request_id: str) -> str:
    """The short reference people and the DPO quote: stable, not guessable from personal data."""
    return "DSR-" + request_id.replace("-", "")[:10].upper()


def _paris_day(moment: datetime) -> str:
    return receipt_day(moment).isoformat()
