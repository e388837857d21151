"""Template values for each message type: (public, secret), the secret half sealed under the subject's key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gdpr.deadlines import compute_deadline, receipt_day
from gdpr.identity import (
    confirmation_step,
    information_requested_at,
    suspends,
    suspension_if_asked_at,
    verification_expiry,
)
from gdpr.lifecycle import CaseState, SendEmail, TaskRecord
from gdpr.routing import ALL_CHANNELS, PROFILING
from gdpr.work import marketing_stops_first, notified_recipients
from mail.labels import REPRESENTATIVE_ROLES, STATUS_LABELS
from mail.names import item_label, system_label
from mail.sources import ValueSources
from schemas.notifications import MessageType
from schemas.tasks import KeepGround, TaskAction, TaskStatus

Values = tuple[dict, dict]
Maker = Callable[[ValueSources, CaseState, SendEmail, datetime], Values]


def day(moment: datetime) -> str:
    return receipt_day(moment).isoformat()


def received(state: CaseState) -> str:
    return day(state.received_at)


def _link(sources: ValueSources, state: CaseState, purpose: str, token_id: str, expires: datetime) -> str:
    return sources.case_link(state.request_id, purpose, expires, token_id)


def status_link(sources: ValueSources, state: CaseState, now: datetime) -> dict:
    """The receipt's signed link to the status page: where the case stands, a button to withdraw it."""
    return {"status_url": sources.case_link(state.request_id, "status", now + sources.status_ttl)}


def upload_link(sources: ValueSources, state: CaseState, closes: datetime) -> dict:
    """R14, R16: the ID or proof asked for is uploaded behind this link, never sent by plain e-mail."""
    return {"upload_url": sources.case_link(state.request_id, "upload", closes)}


# --- receipt and identity ------------------------------------------------------------------------


def receipt(sources, state, command, now) -> Values:
    return {
        "right": state.right.value,
        "received_on": received(state),
        "deadline": state.deadline.isoformat(),
        "priority": bool(command.params.get("priority")),
        "confirmation": confirmation_step(state).value,  # R12: whether the date may move, said as it is
    }, status_link(sources, state, now)


def heir_receipt(sources, state, command, now) -> Values:
    """R5 for LIL 85: an heir or executor is acknowledged as such, not as the person the data are about."""
    facts = state.details.post_mortem
    return {
        "received_on": received(state),
        "deadline": state.deadline.isoformat(),
        "requester_role": facts.requester_role or "heir",
        "action": facts.action.value,
        "proof_announced": facts.proof_of_death and facts.proof_of_standing,  # said, not yet checked (R39.1)
    }, status_link(sources, state, now)


def verification(sources, state, command, now) -> Values:
    expires = now + sources.verification_ttl
    public = {
        "right": state.right.value,
        "received_on": received(state),
        "expires_on": day(expires),
        "deadline": state.deadline.isoformat(),
        # R12, §2.4: this e-mail is the request for information; it suspends only if it leaves in time.
        "suspended": suspension_if_asked_at(state, state.challenge_sent_at or now),
        "marketing_stopped": marketing_stops_first(state),  # §3.2: said, with why, not "nothing changed"
    }
    return public, {"verify_url": _link(sources, state, "verify", command.params["token_id"], expires)}


def verification_reminder(sources, state, command, now) -> Values:
    closes = verification_expiry(state, sources.verification_expiry) or now
    url = _link(sources, state, "verify", state.verification_token_id or "", closes)
    public = {
        "right": state.right.value,
        "received_on": received(state),
        "closes_on": day(closes),
        "suspended": suspends(state),
        **marketing_stopped(state, now),
    }
    return public, {"verify_url": url}


def marketing_stopped(state: CaseState, now: datetime) -> dict:
    """§3.2: marketing stopped before the identity was confirmed (erasure); the e-mails say so, and since when
    it was asked, once every marketing system reported it done: a task issued, unanswered or failed, is not."""
    tasks = state.tasks_for(TaskAction.SUPPRESS_MARKETING)
    stopped = bool(tasks) and all(t.status == TaskStatus.DONE for t in tasks)
    since = min(t.issued_at for t in tasks) if stopped else now
    return {"marketing_stopped": stopped, "marketing_stopped_on": day(since)}


def identity_not_verified(sources, state, command, now) -> Values:
    sent = state.challenge_sent_at or now
    return {
        "right": state.right.value,
        "received_on": received(state),
        "challenge_sent_on": day(sent),
        "closed_on": day(now),
        **marketing_stopped(state, now),
    }, {}


def challenge_unanswered(sources, state, command, now) -> Values:
    """Art. 11(2), 12(2): to the address an L2 request came from; nothing about what data exist."""
    closes = verification_expiry(state, sources.verification_expiry) or now
    closed = bool(command.params.get("closed"))
    return {
        "right": state.right.value,
        "received_on": received(state),
        "challenge_sent_on": day(state.challenge_sent_at or now),
        "closes_on": day(now if closed else closes),
        "closed": closed,
    }, {}


def id_document_request(sources, state, command, now) -> Values:
    return {
        "right": state.right.value,
        "received_on": received(state),
        "reason": state.id_request_reason or "challenge_failed",
        "suspended": suspends(state),  # R12: not when asked late, nor from a representative never asked before
        "deadline": state.deadline.isoformat(),
    }, upload_link(sources, state, (state.id_requested_at or now) + sources.verification_expiry)


def deadline_update(sources, state, command, now) -> Values:
    """R12, §2.4, GS-02: once the information arrived, the new date, and how long the clock stood still."""
    unsuspended = compute_deadline(state.received_at)
    return {
        "right": state.right.value,
        "received_on": received(state),
        "suspended_from": day(information_requested_at(state) or now),
        "confirmed_on": day(state.verified_at or now),
        "suspended_days": state.suspended_days,
        "initial_deadline": (unsuspended.d3 if state.extension else unsuspended.d1).isoformat(),
        "deadline": state.deadline.isoformat(),
    }, {}


# --- DPO decisions ---------------------------------------------------------------------------------


def extension(sources, state, command, now) -> Values:
    decided = state.extension
    return {
        "right": state.right.value,
        "received_on": received(state),
        "deadline": state.d1.isoformat(),
        "new_deadline": state.deadline.isoformat(),
        "reasons": [r.value for r in decided.reasons],
        "explanation": decided.explanation,
        "deceased": state.for_the_deceased(),  # LIL 85: written to an heir
    }, {}


def fee_notice(sources, state, command, now) -> Values:
    fee = state.fee
    basis = fee.basis.value  # R20 / R21: as the DPO established it, never guessed from the right
    return {
        "right": state.right.value,
        "received_on": received(state),
        "amount_cents": fee.fee_cents,
        "basis": basis,
        "facts": fee.facts,
        "respond_by": state.deadline.isoformat(),
    }, {}


def refusal(sources, state, command, now) -> Values:
    index = command.params.get("index")
    decided = state.partial_refusals[index] if index is not None else state.refusal
    return {
        "right": state.right.value,
        "received_on": received(state),
        "reason": decided.reason.value,
        "explanation": decided.explanation,
        "partial": decided.partial,
        "deceased": state.for_the_deceased(),  # LIL 85: written to an heir
    }, {}


# --- outcomes -------------------------------------------------------------------------------------


def no_data(sources, state, command, now) -> Values:
    return {
        "received_on": received(state),
        "right": state.right.value,
        "confirmed": state.verified_at is not None,  # L0, heirs: nobody was asked to confirm anything
        "deceased": state.for_the_deceased(),  # LIL 85: about someone else
    }, {}


def erasure(sources, state, command, now) -> Values:
    erased = [t for t in state.tasks.values() if t.action == TaskAction.ERASE]
    return {
        "received_on": received(state),
        "completed_on": day(now),
        "systems": [
            {"name": system_label(t.system), "erased_items": t.erased_items}
            for t in sorted(erased, key=lambda t: (t.system, t.key))
        ],
        "kept": kept_items(sources, state),
        "recipients_notified": recipient_names(sources, state),
    }, {}


def kept_items(sources: ValueSources, state: CaseState) -> list[dict]:
    """What each system keeps now: its latest erase answer (after a released hold, the purge's answer)."""
    latest: dict[str, TaskRecord] = {}
    for t in sorted(state.tasks_for_any(TaskAction.ERASE), key=lambda t: t.issued_at):
        if t.status is not None:
            latest[t.system] = t
    kept = [(system, k) for system, t in sorted(latest.items()) for k in t.kept]
    seen = {(system, k.item) for system, k in kept}
    for t in state.tasks_for(TaskAction.SUPPRESS_MARKETING):
        kept += [(t.system, k) for k in t.kept if (t.system, k.item) not in seen]
    return [
        {
            "system": system_label(system),
            "ground": k.ground.value,
            "until": k.until,
            "item": item_label(k.item, k.count, sources.register.category_label(system, k.item)),
        }
        for system, k in kept
    ]


def access(sources, state, command, now) -> Values:
    expires = now + sources.download_ttl
    exports = sorted(state.tasks_for(TaskAction.EXPORT), key=lambda t: t.system)
    records = sources.person_records(state)
    public = {
        "received_on": received(state),
        "download_expires_on": day(expires),
        "systems": [{"name": system_label(t.system), "item_count": t.exported_items} for t in exports],
    }
    # R22, R24: the Art. 15(1) information of this person's own records, as information.html has it;
    # it says which categories they have, so it travels sealed.
    information = sources.register.access_information(sorted(records), records)
    return public, {"download_url": _link(sources, state, "download", "package", expires), "information": information}


def portability(sources, state, command, now) -> Values:
    expires = now + sources.download_ttl
    exports = sorted(state.tasks_for(TaskAction.EXPORT), key=lambda t: t.system)
    public = {
        "received_on": received(state),
        "download_expires_on": day(expires),
        "systems": [
            {"name": system_label(t.system), "item_count": t.portable_items or 0} for t in exports if t.portable_items
        ],
    }
    secret = {
        "download_url": _link(sources, state, "download", "package", expires),
        "excluded": sources.register.portability_exclusions(sources.person_records(state)),  # R28: each with its reason
    }
    return public, secret


def portability_not_applicable(sources, state, command, now) -> Values:
    excluded = sources.register.portability_exclusions(sources.person_records(state))  # R28, GS-12b: the person's own
    return {"received_on": received(state), "access_offered": True}, {"excluded": excluded}


def rectification(sources, state, command, now) -> Values:
    records = sorted(state.tasks_for(TaskAction.RECTIFY), key=lambda t: t.system)
    changes: dict[str, dict] = {}
    for record in records:
        if record.changes is not None:
            for field, change in sources.open(record.changes).items():
                changes.setdefault(
                    field, {"field": field, "old": _text(change.get("old")), "new": _text(change.get("new"))}
                )
    done = [t for t in records if t.status == TaskStatus.DONE]
    public = {
        "received_on": received(state),
        "completed_on": day(now),
        "updated": [system_label(t.system) for t in done if t.fields_changed],  # the sealed values are optional
        "checked": [system_label(t.system) for t in done if not t.fields_changed],  # already right there
        "failed": [system_label(t.system) for t in records if t.status == TaskStatus.FAILED],  # with remedies (R11)
        "recipients_notified": recipient_names(sources, state),
        # "No change was needed" only when every system answered that it was already right.
        "unchanged": all(t.status == TaskStatus.DONE and not t.fields_changed for t in records),
    }
    return public, {"changes": list(changes.values())}


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)


def restriction(sources, state, command, now) -> Values:
    ground = state.details.restriction_ground
    records = sorted(state.tasks_for(TaskAction.RESTRICT), key=lambda t: t.system)
    return {
        "received_on": received(state),
        "completed_on": day(now),
        "ground": ground.value if ground else "accuracy_contested",
        "systems": [{"name": system_label(t.system)} for t in records],
        "recipients_notified": recipient_names(sources, state),
    }, {}


def restriction_lift_notice(sources, state, command, now) -> Values:
    ground = state.details.restriction_ground
    records = sorted(state.tasks_for(TaskAction.RESTRICT), key=lambda t: t.system)
    return {
        "ground": ground.value if ground else "accuracy_contested",
        "lift_on": state.lift.lift_on.isoformat(),
        "systems": [{"name": system_label(t.system)} for t in records],
        "reason": state.lift.reason.value,
    }, {}


def objection(sources, state, command, now) -> Values:
    """R30, R45: what the marketing systems reported, nothing assumed: channels, profiling, the entry kept."""
    reported = _reported(state)
    entries = [k for t in reported for k in t.kept if k.ground == KeepGround.SUPPRESSION_LIST]
    return {
        "received_on": received(state),
        "channels": _stopped_channels(reported),
        "effective_on": day(now),
        "profiling_stopped": any(PROFILING in t.suppressed_channels for t in reported),  # Art. 21(2)
        "suppression_kept": bool(entries),
        "suppression_until": max((k.until for k in entries if k.until), default=None),
    }, {}


def _reported(state: CaseState) -> list[TaskRecord]:
    return [t for t in state.tasks_for(TaskAction.SUPPRESS_MARKETING) if t.status == TaskStatus.DONE]


def _stopped_channels(reported: list[TaskRecord]) -> list[str]:
    stopped = {c for t in reported for c in t.suppressed_channels}
    return [c for c in ALL_CHANNELS if c in stopped]


def objection_decision(sources, state, command, now) -> Values:
    erased = any(t.erased_items for t in state.tasks_for(TaskAction.ERASE))
    return {
        "received_on": received(state),
        "upheld": bool(state.objection_upheld),
        "explanation": state.objection_explanation,
        "erased": erased,
    }, {}


def consent_withdrawal(sources, state, command, now) -> Values:
    """R31: the channels stopped and whether data went for want of another basis (17(1)(b)), as reported."""
    reported = _reported(state)
    return {
        "received_on": received(state),
        "channels": _stopped_channels(reported),
        "effective_on": day(now),
        "erased": any(t.erased_items for t in reported),
    }, {}


def directive_recorded(sources, state, command, now) -> Values:
    facts = state.details.post_mortem
    return {"recorded_on": day(now), "executor_named": bool(facts and facts.executor_named)}, {}


def directive_revoked(sources, state, command, now) -> Values:
    return {"revoked_on": day(now)}, {}


def death_proof_request(sources, state, command, now) -> Values:
    """R39.1, R40: what proves the death and the standing, by when, and whether the clock stands still."""
    asked = state.challenge_sent_at or now
    return {
        "received_on": received(state),
        "requester_role": state.details.post_mortem.requester_role or "heir",
        "reminder": bool(command.params.get("reminder")),
        "closes_on": day(asked + sources.verification_expiry),
        "suspended": suspension_if_asked_at(state, asked),
        "deadline": state.deadline.isoformat(),
    }, upload_link(sources, state, asked + sources.verification_expiry)


def death_proof_missing(sources, state, command, now) -> Values:
    """R14, R16: the way back is a new report on the form, whose own upload link the documents go through."""
    return {
        "received_on": received(state),
        "requested_on": day(state.challenge_sent_at or now),
        "closed_on": day(now),
        "report_url": sources.form_link("death"),
    }, {}


def heir_justification(sources, state, command, now) -> Values:
    values, _ = erasure(sources, state, command, now)
    stopped = [t.issued_at for t in state.tasks_for(TaskAction.SUPPRESS_MARKETING)]
    return {
        "received_on": values["received_on"],
        "completed_on": values["completed_on"],
        "marketing_stopped_on": day(min(stopped) if stopped else now),
        "systems": values["systems"],
        "kept": values["kept"],
        "directives_applied": state.directives_erase is not None,
    }, {}


def estate_access(sources, state, command, now) -> Values:
    """LIL 85-II: the copy an heir obtains, limited to what the DPO found the estate needs, and why."""
    expires = now + sources.download_ttl
    kept = sources.selected_records(state)
    categories = [
        sources.register.category_label(system, c) or item_label(c, None)
        for system, records in sorted(kept.items())
        for c, rows in records.items()
        if rows
    ]
    public = {
        "received_on": received(state),
        "download_expires_on": day(expires),
        "explanation": state.estate.explanation,
    }
    return public, {"download_url": _link(sources, state, "download", "package", expires), "categories": categories}


def recipient_names(sources: ValueSources, state: CaseState) -> list[str]:
    return [sources.register.recipient_name(r) for r in notified_recipients(state)]


# --- to the DPO ------------------------------------------------------------------------------------


def dpo_values(sources, state, command, now) -> Values:
    deadline = state.deadline.isoformat()
    kind = command.message_type
    if kind == MessageType.DPO_DEADLINE_REMINDER:
        days_left = (state.deadline - receipt_day(now)).days
        return {
            "right": state.right.value,
            "deadline": deadline,
            "days_left": days_left,
            "status": state.status.value,
            "extended": state.extension is not None,
            "d1": state.d1.isoformat(),  # Art. 12(4), R11: refusals and fee notices, even when extended
        }, {}
    if kind == MessageType.DPO_DECISION_NEEDED:
        return {
            "kind": command.params["kind"],
            "right": state.right.value,
            "deadline": deadline,
            "d1": state.d1.isoformat(),
            "detail": decision_detail(state),
        }, {}
    if kind == MessageType.DPO_TASK_FAILED:
        return {
            "system": system_label(command.params["system"]),
            "action": command.params["action"],
            "error": command.params["error"],
            "deadline": deadline,
        }, {}
    issued = datetime.fromisoformat(command.params["issued_at"])
    hours = int((now - issued).total_seconds() // 3600)
    return {
        "system": system_label(command.params["system"]),
        "action": command.params["action"],
        "issued_at": command.params["issued_at"],
        "waited": f"{hours} h",
        "deadline": deadline,
    }, {}


def decision_detail(state: CaseState) -> dict:
    """Procedural facts in words, no personal data (R50): the DPO opens the case with `dsr case show`."""
    if state.details.representative_role:
        role = REPRESENTATIVE_ROLES.get(state.details.representative_role, REPRESENTATIVE_ROLES["other"])
        given = state.details.mandate_provided
        return {
            "fr": f"représentant\u00a0: {role['fr']}\u00a0; mandat {'joint' if given else 'non joint'}",
            "en": f"representative: {role['en']}; mandate {'enclosed' if given else 'not enclosed'}",
        }
    status = STATUS_LABELS[state.status.value]
    return {"fr": f"statut du dossier\u00a0: {status['fr']}", "en": f"case status: {status['en']}"}


VALUES: dict[MessageType, Maker] = {
    MessageType.RECEIPT: receipt,
    MessageType.HEIR_RECEIPT: heir_receipt,
    MessageType.VERIFICATION: verification,
    MessageType.VERIFICATION_CHALLENGE: verification,
    MessageType.VERIFICATION_REMINDER: verification_reminder,
    MessageType.IDENTITY_NOT_VERIFIED: identity_not_verified,
    MessageType.ID_DOCUMENT_REQUEST: id_document_request,
    MessageType.CHALLENGE_UNANSWERED: challenge_unanswered,
    MessageType.DEADLINE_UPDATE: deadline_update,
    MessageType.EXTENSION: extension,
    MessageType.FEE_NOTICE: fee_notice,
    MessageType.REFUSAL: refusal,
    MessageType.OUTCOME_NO_DATA: no_data,
    MessageType.OUTCOME_ERASURE: erasure,
    MessageType.OUTCOME_ACCESS: access,
    MessageType.OUTCOME_PORTABILITY: portability,
    MessageType.PORTABILITY_NOT_APPLICABLE: portability_not_applicable,
    MessageType.OUTCOME_RECTIFICATION: rectification,
    MessageType.OUTCOME_RESTRICTION: restriction,
    MessageType.RESTRICTION_LIFT_NOTICE: restriction_lift_notice,
    MessageType.OUTCOME_OBJECTION: objection,
    MessageType.OBJECTION_DECISION: objection_decision,
    MessageType.OUTCOME_CONSENT_WITHDRAWAL: consent_withdrawal,
    MessageType.DIRECTIVE_RECORDED: directive_recorded,
    MessageType.DIRECTIVE_REVOKED: directive_revoked,
    MessageType.DEATH_PROOF_REQUEST: death_proof_request,
    MessageType.DEATH_PROOF_MISSING: death_proof_missing,
    MessageType.HEIR_JUSTIFICATION: heir_justification,
    MessageType.ESTATE_ACCESS: estate_access,
}
