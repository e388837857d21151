"""The identity ladder (LEGAL §3.2): who must confirm what, the suspension it causes, and where the case goes next."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from gdpr.case_state import CaseState, Status, moved
from gdpr.commands import DeleteDocument
from gdpr.deadlines import (
    NATIONAL,
    Deadline,
    compute_deadline,
    end_of_day,
    receipt_day,
    subtract_working_days,
    suspension_applies,
)
from gdpr.routing import DIRECTIVES
from gdpr.work import to_processing
from schemas.cases import IdentityLevel
from schemas.identity import normalize_email
from schemas.intake import IdentityAssurance, ObjectionScope, PostMortemAction, Right
from schemas.notifications import MessageType

MINIMUM_TO_CONFIRM = timedelta(days=7)  # DESIGN: even a request entered late leaves a week to confirm


def identity_level(
    assurance: IdentityAssurance, subject_email: str, contact_email: str | None, represented: bool = False
) -> IdentityLevel:
    """L0 when the site already authenticated the person; L2 when the request came from another address;
    L3 when a representative acts: a person checks their identity and mandate (R6)."""
    if represented:
        return IdentityLevel.L3
    if assurance == IdentityAssurance.AUTHENTICATED:
        return IdentityLevel.L0  # EDPB-A §73: never ask more
    if contact_email and normalize_email(contact_email) != normalize_email(subject_email):
        return IdentityLevel.L2  # reasonable doubt: challenge through the channel on file (R15)
    return IdentityLevel.L1


def needs_verification(state: CaseState) -> bool:
    """Marketing objections and withdrawals need nothing beyond the address (R30, §3.2); a death needs proof."""
    if state.level == IdentityLevel.L0 or state.for_the_deceased():
        return False
    marketing = state.right == Right.OBJECTION and state.details.objection_scope != ObjectionScope.LEGITIMATE_INTEREST
    return not (marketing or state.right == Right.CONSENT_WITHDRAWAL)


class ConfirmationStep(StrEnum):
    """What the receipt tells the person will happen before anything is done (LEGAL §3.2)."""

    NONE = "none"  # L0, or a marketing objection or withdrawal: nothing to confirm (R30)
    LINK = "link"  # L1: a link to the address the request came from; it moves no date (an ID asked later may)
    CHALLENGE = "challenge"  # L2: a challenge to the channel on file; it may suspend the deadline (R12)
    REVIEW = "review"  # R6: a person checks the representative's identity and mandate


def confirmation_step(state: CaseState) -> ConfirmationStep:
    if state.details.representative_role:
        return ConfirmationStep.REVIEW
    if not needs_verification(state):
        return ConfirmationStep.NONE
    return ConfirmationStep.CHALLENGE if state.details.identity_level == IdentityLevel.L2 else ConfirmationStep.LINK


def verification_message(state: CaseState) -> MessageType:
    return MessageType.VERIFICATION_CHALLENGE if state.level == IdentityLevel.L2 else MessageType.VERIFICATION


def information_requested_at(state: CaseState) -> datetime | None:
    """R12(a): when the request for the information that settles a reasonable doubt left: the challenge to
    the channel on file (L2), else the request for an ID document (L3). An L1 link to the address the
    request came from asks for nothing new: it suspends nothing. A person checking a representative's
    mandate asks nothing either, until they request a document."""
    if state.details.identity_level == IdentityLevel.L2 or state.for_the_deceased():
        return state.challenge_sent_at  # the challenge, or the request for proof of a death (R39.1, R40)
    return state.id_requested_at


def suspension_if_asked_at(state: CaseState, at: datetime) -> bool:
    """R12, §2.4 DESIGN: a request for information suspends only if it leaves within 3 working days."""
    return suspension_applies(receipt_day(state.received_at), receipt_day(at), NATIONAL)


def suspends(state: CaseState) -> bool:
    """R12, §2.4: the clock stands still while the information asked for is awaited, if asked in time."""
    asked = information_requested_at(state)
    return asked is not None and suspension_if_asked_at(state, asked)


def answers_requester(state: CaseState) -> bool:
    """R18, §3.2: answers go to a verified channel. After a failed L2 challenge, once a person checked the ID
    of whoever wrote from the other address (L3), that address is one; until then only the address on file."""
    return state.requester is not None and state.identity_checked is not None


def deadlines_of(state: CaseState) -> Deadline:
    return compute_deadline(state.received_at, suspended_days=state.suspended_days)


def internal_target(state: CaseState):
    """R9 DESIGN: the service level, raw D1 minus 5 working days (raw D3 minus 5 once extended)."""
    deadline = deadlines_of(state)
    if state.extension is None:
        return deadline.internal_target
    return subtract_working_days(deadline.raw_d3, 5, NATIONAL)


def verification_expiry(state: CaseState, after: timedelta) -> datetime | None:
    """When an unconfirmed request closes with the 'cannot identify' notice (§3.4 DESIGN: +30 days)."""
    started = state.id_requested_at or state.challenge_sent_at
    if started is None:
        return None
    expiry = started + after
    if not suspends(state):  # no suspension: the no-action notice is still due by D1 (R11), so send it that morning,
        d1_morning = end_of_day(state.d1).replace(hour=9, minute=0, second=0, microsecond=0)
        expiry = min(expiry, max(d1_morning, started + MINIMUM_TO_CONFIRM))  # but leave the person a week
    return expiry


def confirmed(state: CaseState, at: datetime) -> CaseState:
    """The person is known: the suspension ends (§2.4) and the work starts. When the information asked for came
    as an uploaded document, the suspension ended when it arrived, not when a person checked it (R12)."""
    if suspends(state):
        arrived = state.document_received_at or at
        days = (receipt_day(min(arrived, at)) - receipt_day(information_requested_at(state))).days
        state = state.model_copy(update={"suspended_days": days})
        deadline = deadlines_of(state)
        state = state.model_copy(
            update={"d1": deadline.d1, "deadline": deadline.d3 if state.extension else deadline.d1}
        )
    return start_work(state.model_copy(update={"verified_at": at}))


def document_deletion(state: CaseState) -> list[DeleteDocument]:
    """R16: an uploaded document is deleted once a person checked it, or once the case closed unchecked."""
    if state.document_received_at is None or not (state.identity_checked or state.status == Status.CLOSED):
        return []
    return [DeleteDocument("document:delete")]


def start_work(state: CaseState) -> CaseState:
    """Where a case goes once identity is settled."""
    pm = state.post_mortem
    if state.for_the_deceased() and not _death_proven(state):
        return moved(state, Status.AWAITING_PROOF)  # a report without proof erases nothing, it waits (GS-16)
    if pm == PostMortemAction.NOTIFY_DEATH and DIRECTIVES in state.holders():
        return moved(state, Status.AWAITING_DECISION)  # R39: directives first, applied by a person
    if pm == PostMortemAction.ESTATE_ACCESS and state.holders():
        return moved(state, Status.AWAITING_DECISION)  # LIL 85-II: a person decides what settling needs
    if state.is_general_objection() and state.holders():
        return moved(state, Status.AWAITING_DECISION)  # R29: the DPO weighs it
    return to_processing(state)


def _death_proven(state: CaseState) -> bool:
    """R39.1, R40: a person checked the death certificate and the standing (verify-id). Documents the request
    says it has (`proof_of_death`, `proof_of_standing`) are only announced: they are uploaded and checked too."""
    return state.identity_checked is not None
