"""Every message type of a case, built through the lifecycle for one case shape, as the coordinator sends it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gdpr.lifecycle import CaseState, Status, evolve
from schemas.cases import DpoDecided
from schemas.decisions import (
    DecideEstateAccess,
    DecideObjection,
    Extend,
    FlagExcessive,
    LiftRestriction,
    Refuse,
    RequestId,
    VerifyId,
)
from schemas.intake import Right
from schemas.tasks import KeepGround, KeptItem, TaskAction, TaskStatus
from tests.unit.messages import (
    CANDIDATE,
    CUSTOMER,
    EMAIL,
    PROSPECT,
    T0,
    answer,
    carry,
    confirm,
    discovered,
    exported,
    opened,
)

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Shape:
    """A kind of case: whose data, and what happened to the deadline or to the answer."""

    holdings: dict
    extended: bool = False  # R10: two more months, decided before D1
    suspended: bool = False  # L2: a challenge answered 8 days later (R12, §2.4)
    partial: bool = False  # R11: part refused, or a system could not act


SHAPES = {
    "prospect": Shape(PROSPECT),
    "customer": Shape(CUSTOMER),
    "candidate": Shape(CANDIDATE),
    "extended": Shape(CUSTOMER, extended=True),
    "suspended": Shape(PROSPECT, suspended=True),
    "partial": Shape(CUSTOMER, partial=True),
}


@dataclass(frozen=True)
class Sent:
    """One e-mail to render: the case as it stands when it is sent, the command's params, and when."""

    state: CaseState
    params: dict = field(default_factory=dict)
    now: datetime = T0


def decided(state: CaseState, decision) -> CaseState:
    return evolve(state, DpoDecided(request_id=state.request_id, decision=decision))


def started(ctx, right: Right, shape: Shape, **details) -> CaseState:
    """Opened, discovered; an L2 case's challenge leaves at once."""
    if shape.suspended and "post_mortem" not in details:
        details["identity_level"] = "L2"
    requester = ctx.sealer.seal(ctx.sealer.ref(EMAIL), {"email": "new@example.test"}) if shape.suspended else None
    state = discovered(ctx, opened(ctx, right, details=details, requester=requester), shape.holdings)
    state, _ = carry(ctx, state, T0)
    if state.status == Status.AWAITING_PROOF and details["post_mortem"].get("proof_of_death"):
        state, _ = carry(ctx, decided(state, VerifyId(by="dpo", at=T0)), T0)  # PROVEN: uploaded and checked
    return state


def worked(ctx, right: Right, shape: Shape, **details) -> CaseState:
    """Confirmed (8 days later when suspended), decided as the shape says, every main task answered."""
    state = started(ctx, right, shape, **details)
    if state.status == Status.AWAITING_VERIFICATION:
        state = confirm(ctx, state, T0 + 8 * DAY if shape.suspended else T0)
    if shape.extended:
        state = decided(state, Extend(by="dpo", at=T0 + DAY, reasons=["spread_across_systems"]))
    if shape.partial:
        state = decided(
            state, Refuse(by="dpo", at=T0 + DAY, reason="rights_of_others", explanation="Notes.", partial=True)
        )
    state, _ = carry(ctx, state, T0 + DAY)
    return answered(ctx, state, shape)


def answered(ctx, state: CaseState, shape: Shape) -> CaseState:
    for task in [t for t in state.tasks.values() if t.status is None]:
        fields = ANSWERS[task.action](ctx, state, task.system, shape)
        if task.action == TaskAction.EXPORT:
            state = exported(ctx, state, {task.system: shape.holdings.get(task.system, {})}, T0 + DAY)
        else:
            state = answer(state, task.system, task.action, T0 + DAY, task.key, **fields)
    return state


def _erased(ctx, state, system, shape) -> dict:
    records = shape.holdings.get(system, {})
    kept = []
    if "invoices" in records:  # Art. 17(3)(b): Code de commerce L123-22
        kept.append(KeptItem(item="invoices", count=1, ground=KeepGround.LEGAL_OBLIGATION, until="2036-05-02"))
    if system == "newsletter":
        kept.append(KeptItem(item="suppression_entry", ground=KeepGround.SUPPRESSION_LIST, until="2030-03-05"))
    return {"erased_items": sum(len(rows) for rows in records.values()), "kept": kept}


def _rectified(ctx, state, system, shape) -> dict:
    if shape.partial and system != "crm":
        return {"status": TaskStatus.FAILED, "error": "RuntimeError"}
    if system != "crm":
        return {}
    change = {"postal_address": {"old": "4 impasse des Lilas, Villeurbanne", "new": "18 cours Vitton, Lyon"}}
    return {"fields_changed": ["postal_address"], "changes": ctx.sealer.seal(state.subject_ref, change)}


def _suppressed(ctx, state, system, shape) -> dict:
    if system == "newsletter":
        entry = KeptItem(item="suppression_entry", ground=KeepGround.SUPPRESSION_LIST, until="2030-03-05")
        return {"suppressed_channels": ["email"], "kept": [entry], "erased_items": 2}
    channels = ["email", "sms", "phone", "post"]
    return {"suppressed_channels": channels + (["profiling"] if state.right == Right.OBJECTION else [])}


ANSWERS: dict[TaskAction, Callable] = {
    TaskAction.EXPORT: lambda ctx, state, system, shape: {},
    TaskAction.ERASE: _erased,
    TaskAction.RECTIFY: _rectified,
    TaskAction.RESTRICT: lambda ctx, state, system, shape: {"restricted_items": 3},
    TaskAction.SUPPRESS_MARKETING: _suppressed,
    TaskAction.RECORD_SUBMISSION: lambda ctx, state, system, shape: {},
    TaskAction.NOTIFY_RECIPIENT: lambda ctx, state, system, shape: {},
}

DEATH = {"action": "notify_death", "requester_role": "heir", "wants_justification": True}
PROVEN = {**DEATH, "proof_of_death": True, "proof_of_standing": True}  # announced; `started` has them checked


def _fee(state: CaseState, shape: Shape) -> CaseState:
    basis = "manifestly_excessive" if shape.partial else "further_copy"
    flag = FlagExcessive(
        by="dpo",
        at=T0 + DAY,
        facts="Fourth identical request in eight weeks, nothing changed.",
        fee_cents=1500,
        basis=basis,
        previous_request_at=T0 - 14 * DAY,
    )
    return decided(state, flag)


def _lifting(ctx, shape: Shape) -> CaseState:
    state = worked(ctx, Right.RESTRICTION, shape, restriction_ground="accuracy_contested")
    state = evolve(state, _sent_event(state, "outcome_restriction"))
    return decided(
        state, LiftRestriction(by="dpo", at=T0 + 2 * DAY, lift_on=(T0 + 9 * DAY).date(), reason="accuracy_verified")
    )


def _sent_event(state: CaseState, message_type: str):
    from schemas.cases import EmailSent

    return EmailSent(request_id=state.request_id, message_type=message_type, message_id="m", sent_at=T0 + DAY)


def _objection_decided(ctx, shape: Shape) -> CaseState:
    details = {"objection_scope": "legitimate_interest", "restriction_ground": "objection_pending"}
    state = started(ctx, Right.OBJECTION, shape, **details)
    if state.status == Status.AWAITING_VERIFICATION:
        state = confirm(ctx, state, T0 + 8 * DAY if shape.suspended else T0)
    upheld = not shape.partial
    explanation = "Le suivi n'était plus nécessaire." if upheld else "Les notes servent à un litige en cours."
    state = decided(state, DecideObjection(by="dpo", at=T0 + DAY, upheld=upheld, explanation=explanation))
    state, _ = carry(ctx, state, T0 + DAY)
    return answered(ctx, state, shape)


def _estate(ctx, shape: Shape) -> CaseState:
    state = started(ctx, Right.POST_MORTEM, shape, post_mortem={**PROVEN, "action": "estate_access"})
    granted = DecideEstateAccess(
        by="dpo", at=T0 + DAY, categories=["invoices", "candidate"], explanation="Pour le notaire."
    )
    state, _ = carry(ctx, decided(state, granted), T0 + DAY)
    return answered(ctx, state, shape)


def _with_directives(shape: Shape) -> Shape:
    directives = {"directives": {"directives": [{"instructions": "…", "_origin": "provided"}]}}
    return Shape({**shape.holdings, **directives}, shape.extended, shape.suspended, shape.partial)


def _l2_confirmed(ctx, shape: Shape) -> CaseState:
    state = started(ctx, Right.ACCESS, Shape(shape.holdings, suspended=True))
    return confirm(ctx, state, T0 + 8 * DAY)


def _id_requested(ctx, shape: Shape) -> CaseState:
    return decided(started(ctx, Right.ACCESS, shape), RequestId(by="dpo", at=T0 + DAY, reason="challenge_failed"))


def _refused(ctx, shape: Shape) -> CaseState:
    state = started(ctx, Right.ACCESS, shape)
    refusal = Refuse(by="dpo", at=T0 + DAY, reason="manifestly_unfounded", explanation="Harcèlement documenté.")
    return decided(state, refusal.model_copy(update={"partial": shape.partial}))


# message type -> the sends to render for a shape
RECIPES: dict[str, Callable] = {
    "receipt": lambda ctx, s: [Sent(started(ctx, Right.ERASURE, s, minor_at_collection=True), {"priority": True})],
    "verification": lambda ctx, s: [Sent(started(ctx, Right.ERASURE, s), {"token_id": "t"})],
    "verification_challenge": lambda ctx, s: [
        Sent(started(ctx, Right.ERASURE, Shape(s.holdings, suspended=True)), {"token_id": "t"})
    ],
    "verification_reminder": lambda ctx, s: [Sent(started(ctx, Right.ERASURE, s), now=T0 + 14 * DAY)],
    "identity_not_verified": lambda ctx, s: [Sent(started(ctx, Right.ERASURE, s), now=T0 + 30 * DAY)],
    "challenge_unanswered": lambda ctx, s: [
        Sent(started(ctx, Right.ACCESS, Shape(s.holdings, suspended=True)), {"closed": closed}, T0 + 30 * DAY)
        for closed in (False, True)
    ],
    "id_document_request": lambda ctx, s: [Sent(_id_requested(ctx, s))],
    "deadline_update": lambda ctx, s: [Sent(_l2_confirmed(ctx, s), now=T0 + 8 * DAY)],
    "extension": lambda ctx, s: [Sent(worked(ctx, Right.ACCESS, Shape(s.holdings, extended=True)))],
    "fee_notice": lambda ctx, s: [Sent(_fee(worked(ctx, Right.ACCESS, s), s))],
    "refusal": lambda ctx, s: [Sent(_refused(ctx, s), {"index": 0} if s.partial else {})],
    "outcome_access": lambda ctx, s: [Sent(worked(ctx, Right.ACCESS, s), now=T0 + DAY)],
    "outcome_no_data": lambda ctx, s: [Sent(worked(ctx, Right.ACCESS, Shape({}, s.extended, s.suspended)))],
    "outcome_erasure": lambda ctx, s: [Sent(worked(ctx, Right.ERASURE, s), now=T0 + DAY)],
    "outcome_rectification": lambda ctx, s: [Sent(worked(ctx, Right.RECTIFICATION, s), now=T0 + DAY)],
    "outcome_restriction": lambda ctx, s: [
        Sent(worked(ctx, Right.RESTRICTION, s, restriction_ground="accuracy_contested"), now=T0 + DAY)
    ],
    "restriction_lift_notice": lambda ctx, s: [Sent(_lifting(ctx, s), now=T0 + 2 * DAY)],
    "outcome_portability": lambda ctx, s: [Sent(worked(ctx, Right.PORTABILITY, s), now=T0 + DAY)],
    "portability_not_applicable": lambda ctx, s: [Sent(worked(ctx, Right.PORTABILITY, s), now=T0 + DAY)],
    "outcome_objection": lambda ctx, s: [Sent(worked(ctx, Right.OBJECTION, s), now=T0 + DAY)],
    "objection_decision": lambda ctx, s: [Sent(_objection_decided(ctx, s), now=T0 + DAY)],
    "outcome_consent_withdrawal": lambda ctx, s: [
        Sent(worked(ctx, Right.CONSENT_WITHDRAWAL, s, channels=["email"]), now=T0 + DAY)
    ],
    "directive_recorded": lambda ctx, s: [
        Sent(worked(ctx, Right.POST_MORTEM, s, post_mortem={"action": "record_directive", "specific_consent": True}))
    ],
    "directive_revoked": lambda ctx, s: [
        Sent(worked(ctx, Right.POST_MORTEM, _with_directives(s), post_mortem={"action": "revoke_directive"}))
    ],
    "heir_receipt": lambda ctx, s: [
        Sent(started(ctx, Right.POST_MORTEM, s, post_mortem={**DEATH, "action": action}))
        for action in ("notify_death", "estate_access")
    ],
    "death_proof_request": lambda ctx, s: [
        Sent(started(ctx, Right.POST_MORTEM, s, post_mortem=DEATH), {"reminder": reminder}, T0 + 14 * DAY)
        for reminder in (False, True)
    ],
    "death_proof_missing": lambda ctx, s: [
        Sent(started(ctx, Right.POST_MORTEM, s, post_mortem=DEATH), now=T0 + 30 * DAY)
    ],
    "heir_justification": lambda ctx, s: [Sent(worked(ctx, Right.POST_MORTEM, s, post_mortem=PROVEN), now=T0 + DAY)],
    "estate_access": lambda ctx, s: [Sent(_estate(ctx, s), now=T0 + DAY)],
}
