"""What each status asks for, which e-mail answers the case, and where that e-mail leaves it (LEGAL §4.7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gdpr import work
from gdpr.case_state import CaseState, Status
from gdpr.commands import CasePolicy, Command, ResendEmail, SendEmail, follow_up_id
from gdpr.deadlines import receipt_day
from gdpr.identity import document_deletion, verification_expiry, verification_message
from gdpr.minors import erasure_priority
from gdpr.routing import DIRECTIVES, ERASURE_PENDING
from gdpr.work import task
from schemas.intake import PostMortemAction, Right
from schemas.notifications import MessageType, Recipient
from schemas.tasks import TaskAction

IdMaker = Callable[..., str]

RIGHT_OUTCOMES = {
    Right.ACCESS: MessageType.OUTCOME_ACCESS,
    Right.RECTIFICATION: MessageType.OUTCOME_RECTIFICATION,
    Right.ERASURE: MessageType.OUTCOME_ERASURE,
    Right.RESTRICTION: MessageType.OUTCOME_RESTRICTION,
    Right.CONSENT_WITHDRAWAL: MessageType.OUTCOME_CONSENT_WITHDRAWAL,
}
POST_MORTEM_OUTCOMES = {
    PostMortemAction.RECORD_DIRECTIVE: MessageType.DIRECTIVE_RECORDED,
    PostMortemAction.REVOKE_DIRECTIVE: MessageType.DIRECTIVE_REVOKED,
    PostMortemAction.NOTIFY_DEATH: MessageType.HEIR_JUSTIFICATION,
    PostMortemAction.ESTATE_ACCESS: MessageType.ESTATE_ACCESS,
}
DECISION_KINDS = {
    None: "objection_general",
    PostMortemAction.NOTIFY_DEATH: "directives_on_file",
    PostMortemAction.ESTATE_ACCESS: MessageType.ESTATE_ACCESS,
}


def outcome_type(state: CaseState) -> str:
    """The e-mail that answers the case (R34): the action taken, or why not (R11)."""
    if state.refusal is not None:
        return MessageType.REFUSAL
    if state.post_mortem is not None:
        return _post_mortem_outcome(state)
    if state.right == Right.OBJECTION:
        return MessageType.OBJECTION_DECISION if state.is_general_objection() else MessageType.OUTCOME_OBJECTION
    if not state.holders() and state.right != Right.CONSENT_WITHDRAWAL:
        return MessageType.OUTCOME_NO_DATA
    if state.right == Right.PORTABILITY:
        portable = sum(t.portable_items or 0 for t in state.tasks_for(TaskAction.EXPORT))
        return MessageType.OUTCOME_PORTABILITY if portable else MessageType.PORTABILITY_NOT_APPLICABLE  # R28
    return RIGHT_OUTCOMES[state.right]


def _post_mortem_outcome(state: CaseState) -> str:
    facts = state.details.post_mortem
    if facts.action == PostMortemAction.REVOKE_DIRECTIVE and DIRECTIVES not in state.holders():
        return MessageType.OUTCOME_NO_DATA
    return POST_MORTEM_OUTCOMES[facts.action]


def closing_status(state: CaseState, message_type: str) -> Status | None:
    """Where an e-mail that was just sent leaves the case, if anywhere."""
    if message_type == MessageType.IDENTITY_NOT_VERIFIED and state.status == Status.AWAITING_VERIFICATION:
        return Status.CLOSED
    if message_type == MessageType.DEATH_PROOF_MISSING and state.status == Status.AWAITING_PROOF:
        return Status.CLOSED
    if state.status != Status.ANSWERING or message_type != outcome_type(state):
        return None
    return Status.RESTRICTED if _stays_restricted(state) else Status.CLOSED


def _stays_restricted(state: CaseState) -> bool:
    """Art. 18: data stay restricted until lifted, after notice (18(3))."""
    if state.refusal is not None:
        return False
    restricted = any(t.restricted_items for t in state.tasks_for(TaskAction.RESTRICT))
    return state.right == Right.RESTRICTION or (
        state.is_general_objection() and restricted and not state.objection_upheld
    )


# --- what each status asks for -----------------------------------------------------------------


def due_by_status(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    priority = {"priority": erasure_priority(state.right, state.details.minor_at_collection)}  # LIL 51-II, R42
    receipt = (
        MessageType.HEIR_RECEIPT if state.for_the_deceased() else MessageType.RECEIPT
    )  # LIL 85: written to the heir
    due: list[Command] = [SendEmail("email:receipt", receipt, Recipient.SUBJECT, priority)]  # R5
    due += _decision_emails(state) + document_deletion(state)
    return due + BY_STATUS[state.status](state, now, policy, ids)


def _decision_emails(state: CaseState) -> list[Command]:
    due: list[Command] = []
    if state.extension is not None:
        due.append(SendEmail("email:extension", MessageType.EXTENSION, Recipient.SUBJECT))  # R10: by D1
    for index, _ in enumerate(state.partial_refusals):
        due.append(
            SendEmail(f"email:refusal:partial:{index}", MessageType.REFUSAL, Recipient.SUBJECT, {"index": index})
        )  # R11
    if state.fee is not None and state.fee.fee_cents is not None:
        due.append(SendEmail("email:fee_notice", MessageType.FEE_NOTICE, Recipient.SUBJECT))  # R21: before any fee
    if state.id_requested_at is not None and state.status == Status.AWAITING_VERIFICATION:
        to = (
            Recipient.REQUESTER if state.requester else Recipient.SUBJECT
        )  # L2 failed, the person insists from the other address
        due.append(SendEmail("email:id_document_request", MessageType.ID_DOCUMENT_REQUEST, to))  # R14
    if state.document_received_at and state.status in (Status.AWAITING_VERIFICATION, Status.AWAITING_PROOF):
        kind = {"kind": "document_received"}  # a person checks it, then records it (verify-id)
        due.append(SendEmail("email:dpo_document_received", MessageType.DPO_DECISION_NEEDED, Recipient.DPO, kind))
    if state.suspended_days and state.status in (Status.PROCESSING, Status.AWAITING_DECISION):
        due.append(
            SendEmail("email:deadline_update", MessageType.DEADLINE_UPDATE, Recipient.SUBJECT)
        )  # R12, §2.4: the new date
    return due


def _discovering(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    return [task(s, TaskAction.LOOKUP) for s in state.systems]


def _awaiting_verification(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    if state.details.representative_role:  # R6: a person checks the representative's identity and mandate
        return [
            SendEmail(
                "email:dpo_decision_needed", MessageType.DPO_DECISION_NEEDED, Recipient.DPO, {"kind": "identity_review"}
            )
        ]
    token = ids(state.request_id, "verification")
    link = SendEmail("email:verification", verification_message(state), Recipient.SUBJECT, {"token_id": token})
    due: list[Command] = [link]
    if not _followed_up(state, ids(state.request_id, link.command_id)):  # else asked again as every e-mail is
        due += _link_resent(state, now, policy, link)  # a link asked for before cases remembered what they asked
    if work.marketing_stops_first(state):
        due += work.suppress_marketing(state, ERASURE_PENDING)  # §3.2: marketing stops before verification
    return due + _unconfirmed(state, now, policy)


def _followed_up(state: CaseState, message_id: str) -> bool:
    return message_id in state.mail_asked or follow_up_id(message_id, 1) in state.done


def _link_resent(state: CaseState, now: datetime, policy: CasePolicy, link: SendEmail) -> list[Command]:
    """The link not recorded as sent after DSR_TASK_RESEND_MINUTES (lost in a rebalance) is asked again, at most
    `task_resends` times: without it the person can neither confirm nor be answered (R11)."""
    if policy.task_resend is None or state.challenge_sent_at is None or link.message_type in state.emails_sent:
        return []
    for n in range(1, policy.task_resends + 1):
        command_id = f"{link.command_id}:resend:{n}"
        if command_id not in state.done:
            return [ResendEmail(command_id, link)] if now >= state.challenge_sent_at + n * policy.task_resend else []
    return []


def _unconfirmed(state: CaseState, now: datetime, policy: CasePolicy) -> list[Command]:
    """§3.4: a reminder, then the 'cannot identify' notice (R11). Art. 11(2), 12(2): whoever wrote from
    another address (L2) hears it too, with how to prove who they are, and nothing about the data."""
    due: list[Command] = []
    if state.document_received_at:
        return due  # the document asked for arrived: no reminder, no closure while a person checks it
    if state.challenge_sent_at and now >= state.challenge_sent_at + policy.verification_reminder:
        due.append(SendEmail("email:verification_reminder", MessageType.VERIFICATION_REMINDER, Recipient.SUBJECT))
        due += _to_requester(state, closed=False)
    expiry = verification_expiry(state, policy.verification_expiry)
    if expiry is not None and now >= expiry:
        due += _to_requester(state, closed=True)  # before the notice that closes the case
        due.append(SendEmail("email:identity_not_verified", MessageType.IDENTITY_NOT_VERIFIED, Recipient.SUBJECT))
    return due


def _to_requester(state: CaseState, closed: bool) -> list[Command]:
    if state.requester is None:
        return []
    suffix = "closed" if closed else "open"
    return [
        SendEmail(
            f"email:challenge_unanswered:{suffix}",
            MessageType.CHALLENGE_UNANSWERED,
            Recipient.REQUESTER,
            {"closed": closed},
        )
    ]


def _awaiting_proof(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    """R39.1, R40: a death reported without proof waits for it: a request, a reminder, then a closing notice
    (§3.4 timings); the DPO records the check with `verify-id`. Nothing is erased or stopped meanwhile."""
    due: list[Command] = [
        SendEmail("email:death_proof_request", MessageType.DEATH_PROOF_REQUEST, Recipient.SUBJECT),
        SendEmail(  # its own id: the decision alert that may follow the check (directives, estate) is another
            "email:dpo_death_notified", MessageType.DPO_DECISION_NEEDED, Recipient.DPO, {"kind": "death_notified"}
        ),
    ]
    asked = None if state.document_received_at else state.challenge_sent_at  # arrived: wait for the check
    if asked and now >= asked + policy.verification_reminder:
        due.append(
            SendEmail(
                "email:death_proof_reminder", MessageType.DEATH_PROOF_REQUEST, Recipient.SUBJECT, {"reminder": True}
            )
        )
    if asked and now >= asked + policy.verification_expiry:
        due.append(SendEmail("email:death_proof_missing", MessageType.DEATH_PROOF_MISSING, Recipient.SUBJECT))
    return due


def _awaiting_decision(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    kind = DECISION_KINDS[state.post_mortem]
    due: list[Command] = [
        SendEmail("email:dpo_decision_needed", MessageType.DPO_DECISION_NEEDED, Recipient.DPO, {"kind": kind})
    ]
    if state.for_the_deceased():
        due += work.suppress_marketing(state)  # R39: once the death is proven, marketing stops at once
    elif state.details.restriction_ground is not None:
        due += work.restrict(state)  # 18(1)(d): restricted while the objection is weighed
    return due


def _processing(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    return list(work.main_tasks(state))


def _answering(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    if state.fee is not None and state.fee.fee_cents is not None and not state.fee_paid and state.refusal is None:
        return []  # R21: nothing is delivered before the fee is agreed
    notices = work.recipient_notices(state, policy) if state.refusal is None else []  # R35: before the outcome
    return [*notices, SendEmail("email:outcome", outcome_type(state), Recipient.SUBJECT)]


def _restricted(state: CaseState, now: datetime, policy: CasePolicy, ids: IdMaker) -> list[Command]:
    if state.lift is None:
        return []
    due: list[Command] = [
        SendEmail("email:restriction_lift_notice", MessageType.RESTRICTION_LIFT_NOTICE, Recipient.SUBJECT)
    ]
    if MessageType.RESTRICTION_LIFT_NOTICE in state.emails_sent and work.lift_due(state, receipt_day(now)):
        due += work.lift_tasks(state)  # Art. 18(3): only after the person was told
    return due


BY_STATUS = {
    Status.DISCOVERING: _discovering,
    Status.AWAITING_VERIFICATION: _awaiting_verification,
    Status.AWAITING_PROOF: _awaiting_proof,
    Status.AWAITING_DECISION: _awaiting_decision,
    Status.PROCESSING: _processing,
    Status.ANSWERING: _answering,
    Status.RESTRICTED: _restricted,
}
