"""Every right through the pure lifecycle: identity ladder, deadlines, the DPO's decisions, Art. 19 notices."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdpr.commands import CasePolicy, DestroySubjectKey, IssueTask, PurgeCaseRecord, SendEmail
from gdpr.deadlines import compute_deadline, end_of_day, receipt_day
from gdpr.decisions import DecisionRefused, check
from gdpr.identity import internal_target
from gdpr.lifecycle import Status, decide, evolve, record_done, task_id
from schemas.cases import (
    CaseOpened,
    DpoDecided,
    EmailSent,
    IdentityConfirmed,
    IdentityLevel,
    PostMortemFacts,
    RequestDetails,
    TaskAnswered,
)
from schemas.decisions import (
    ApplyDirectives,
    DecideEstateAccess,
    DecideObjection,
    Extend,
    FeePaid,
    FlagExcessive,
    Hold,
    LiftRestriction,
    Refuse,
    Release,
    RequestId,
    VerifyId,
)
from schemas.intake import Channel, Language, ObjectionScope, PostMortemAction, RestrictionGround, Right
from schemas.sealed import Sealed
from schemas.tasks import KeepGround, KeptItem, TaskAction, TaskResult, TaskStatus

pytestmark = pytest.mark.unit

SYSTEMS = ["crm", "recruitment", "newsletter", "directives"]
MARKETING = ["crm", "newsletter"]
SEALED = Sealed(subject_ref="ref", nonce="n", ciphertext="c")
POLICY = CasePolicy(recipients_by_system={"crm": ("franchise-lyon", "telephony"), "newsletter": ("mailer-us",)})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def opened(right: Right, at: datetime, **details) -> CaseOpened:
    return CaseOpened(
        request_id="r1",
        source_event_id="e1",
        subject_ref="ref",
        right=right,
        language=Language.FR,
        received_at=at,
        systems=SYSTEMS,
        marketing_systems=MARKETING,
        subject=SEALED,
        payload=SEALED,
        details=RequestDetails(**details),
    )


def carry(state, now, mail_reports: bool = True):
    """Decide and carry out; the mailer reports each e-mail as handled at once (`sent` drives what its type
    changes), unless `mail_reports=False`: then they stay on their way, and keep the key."""
    commands = decide(state, now, POLICY)
    for command in commands:
        state = record_done(state, command, now)
    if mail_reports:
        state = state.model_copy(update={"mail_out": {}, "mail_asked": {}})
    return state, commands


def answer(state, system, action, at, key="", **fields):
    result = TaskResult(
        task_id=task_id(state, system, action, key),
        subject_request_id="r1",
        system=system,
        action=action,
        status=fields.pop("status", TaskStatus.DONE),
        completed_at=at,
        **fields,
    )
    return evolve(state, TaskAnswered(request_id="r1", result=result, portable_items=fields.get("exported_items")))


def discovered(right, at, holders=("crm",), **details):
    state, _ = carry(evolve(None, opened(right, at, **details)), at)
    for system in SYSTEMS:
        state = answer(state, system, TaskAction.LOOKUP, at, holds_data=system in holders)
    return state


def confirm(state, at):
    state, _ = carry(state, at)
    return evolve(state, IdentityConfirmed(request_id="r1", token_id=state.verification_token_id, confirmed_at=at))


def decided(state, decision):
    return evolve(state, DpoDecided(request_id="r1", decision=decision))


def sent(state, message_type, at):
    return evolve(state, EmailSent(request_id="r1", message_type=message_type, message_id="m", sent_at=at))


def issued(commands, action=None):
    return [
        (c.system, c.action) for c in commands if isinstance(c, IssueTask) and (action is None or c.action == action)
    ]


def emails(commands):
    return [c.message_type for c in commands if isinstance(c, SendEmail)]


T0 = utc("2027-03-05T10:00:00")  # V1: D1 2027-04-05


# --- identity ladder (LEGAL §3.2) -----------------------------------------------------------------


def test_gs02_challenge_on_file_suspends_the_deadline_until_confirmed():
    # Request from x@new.fr about c@old.fr on 1 March; challenge to c@old.fr on 2 March; confirmed 10 March.
    received = utc("2027-03-01T08:00:00")
    state = discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2)
    state, commands = carry(state, utc("2027-03-02T09:00:00"))
    assert "verification_challenge" in emails(commands)
    state = confirm(state, utc("2027-03-10T09:00:00"))
    assert state.suspended_days == 8  # §2.4: from the challenge to the answer
    assert state.d1 == state.deadline == date(2027, 4, 9)  # raw 1 April + 8 days, a Friday
    assert state.status == Status.PROCESSING


def test_l1_confirmation_does_not_suspend():
    state = confirm(discovered(Right.ACCESS, T0), T0 + timedelta(days=5))
    assert state.suspended_days == 0 and state.deadline == date(2027, 4, 5)


def test_gs03_unconfirmed_request_gets_a_reminder_then_closes_with_the_cannot_identify_notice():
    received = utc("2027-03-01T08:00:00")
    state, _ = carry(discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2), utc("2027-03-02T08:00:00"))
    assert "verification_reminder" not in emails(decide(state, utc("2027-03-15T09:00:00"), POLICY))
    state, commands = carry(state, utc("2027-03-16T09:00:00"))
    assert "verification_reminder" in emails(commands)  # challenge + 14 days
    assert "identity_not_verified" not in emails(decide(state, utc("2027-03-31T09:00:00"), POLICY))
    state, commands = carry(state, utc("2027-04-01T09:00:00"))
    assert "identity_not_verified" in emails(commands)  # challenge + 30 days
    state = sent(state, "identity_not_verified", utc("2027-04-01T09:01:00"))
    assert state.status == Status.CLOSED and state.subject is None
    assert not any(a == TaskAction.EXPORT for _, a in issued(commands))  # nothing disclosed


def test_l0_authenticated_requests_are_never_asked_anything():
    state = discovered(Right.ACCESS, T0, identity_level=IdentityLevel.L0)
    assert state.status == Status.PROCESSING
    assert "verification" not in emails(decide(state, T0, POLICY))


def test_marketing_objection_needs_no_verification_and_reaches_every_marketing_system():
    state = discovered(Right.OBJECTION, T0, holders=())  # R30: even when nobody knows the address
    _, commands = carry(state, T0)
    assert issued(commands, TaskAction.SUPPRESS_MARKETING) == [
        ("crm", TaskAction.SUPPRESS_MARKETING),
        ("newsletter", TaskAction.SUPPRESS_MARKETING),
    ]
    assert all(c.params["channels"] == ["email", "sms", "phone", "post"] for c in commands if isinstance(c, IssueTask))


def test_erasure_suppresses_marketing_before_verification():
    _, commands = carry(discovered(Right.ERASURE, T0, holders=("crm", "newsletter")), T0)
    assert "verification" in emails(commands)
    assert ("newsletter", TaskAction.SUPPRESS_MARKETING) in issued(commands)  # §3.2
    assert not issued(commands, TaskAction.ERASE)


def test_l3_id_check_is_recorded_as_a_bare_note():
    state, _ = carry(discovered(Right.ACCESS, T0), T0)
    state = decided(state, RequestId(by="dpo", at=T0, reason="challenge_failed"))
    assert "id_document_request" in emails(decide(state, T0, POLICY))
    state = decided(state, VerifyId(by="dpo", at=utc("2027-03-08T10:00:00")))
    assert state.identity_checked == "ID checked on 2027-03-08 by dpo"  # R16
    assert state.status == Status.PROCESSING


def test_the_check_note_names_the_role_while_the_decision_record_keeps_who_decided():
    # From the console, `by` is the login of the person signed in: the note kept with the case names the role
    # (R16), the decision record keeps the login for accountability (R50).
    state, _ = carry(discovered(Right.ACCESS, T0), T0)
    state = decided(state, RequestId(by="c.martin", at=T0, reason="challenge_failed"))
    state = decided(state, VerifyId(by="c.martin", at=utc("2027-03-08T10:00:00")))
    assert state.identity_checked == "ID checked on 2027-03-08 by dpo"
    assert state.decisions[-1].by == "c.martin"
    heir, _ = carry(discovered(Right.POST_MORTEM, T0, holders=("crm",), **death(False)), T0)
    heir = decided(heir, VerifyId(by="c.martin", at=utc("2027-03-12T10:00:00")))
    assert heir.identity_checked == "death and standing checked on 2027-03-12 by dpo"


# --- each right's tasks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "right,action",
    [
        (Right.ACCESS, TaskAction.EXPORT),
        (Right.PORTABILITY, TaskAction.EXPORT),
        (Right.RECTIFICATION, TaskAction.RECTIFY),
        (Right.ERASURE, TaskAction.ERASE),
        (Right.RESTRICTION, TaskAction.RESTRICT),
    ],
)
def test_each_right_sends_its_action_to_the_systems_holding_data(right, action):
    state = confirm(discovered(right, T0, holders=("crm", "recruitment")), T0)
    _, commands = carry(state, T0)
    assert issued(commands, action) == [("crm", action), ("recruitment", action)]


def test_consent_withdrawal_is_per_channel():
    state = discovered(Right.CONSENT_WITHDRAWAL, T0, channels=[Channel.SMS, Channel.PHONE])
    _, commands = carry(state, T0)
    assert {tuple(c.params["channels"]) for c in commands if isinstance(c, IssueTask)} == {("sms", "phone")}


def test_rectification_notifies_every_recipient_before_the_outcome():
    state, _ = carry(confirm(discovered(Right.RECTIFICATION, T0, holders=("crm",)), T0), T0)
    state = answer(state, "crm", TaskAction.RECTIFY, T0, fields_changed=["postal_address"])
    assert state.status == Status.ANSWERING
    _, commands = carry(state, T0)
    notices = [c for c in commands if isinstance(c, IssueTask)]
    assert [c.system for c in notices] == ["franchise-lyon", "telephony"]  # R35, GS-10
    assert notices[0].params["notice"] == {
        "change": "rectification",
        "recipient": "franchise-lyon",
        "systems": ["crm"],
        "fields": ["postal_address"],
    }
    assert emails(commands)[-1] == "outcome_rectification"
    assert commands.index(notices[-1]) < len(commands) - 1  # notices go out before the outcome e-mail


def test_an_erasure_sends_one_notice_per_recipient_naming_every_system_it_received_data_from():
    # franchise-lyon received data from the CRM and the newsletter: one notice, not one per system (R35).
    policy = CasePolicy(
        recipients_by_system={"crm": ("franchise-lyon", "telephony"), "newsletter": ("franchise-lyon",)}
    )
    state, _ = carry(confirm(discovered(Right.ERASURE, T0, holders=("crm", "newsletter")), T0), T0)
    for system in ("crm", "newsletter"):
        state = answer(state, system, TaskAction.ERASE, T0, erased_items=2)
    notices = [c for c in decide(state, T0, policy) if isinstance(c, IssueTask)]
    assert [(c.system, c.params["notice"]["systems"]) for c in notices] == [
        ("franchise-lyon", ["crm", "newsletter"]),
        ("telephony", ["crm"]),
    ]


def test_portability_without_portable_data_says_why():
    state, _ = carry(confirm(discovered(Right.PORTABILITY, T0, holders=("crm",)), T0), T0)
    state = answer(state, "crm", TaskAction.EXPORT, T0, exported_items=0)
    _, commands = carry(state, T0)
    assert emails(commands)[-1] == "portability_not_applicable"  # R28, GS-12b


def test_restriction_stays_until_lifted_after_notice():
    state, _ = carry(
        confirm(
            discovered(
                Right.RESTRICTION, T0, holders=("crm",), restriction_ground=RestrictionGround.ACCURACY_CONTESTED
            ),
            T0,
        ),
        T0,
    )
    state = answer(state, "crm", TaskAction.RESTRICT, T0, restricted_items=3)
    state, _ = carry(state, T0)
    state = sent(state, "outcome_restriction", T0)
    assert state.status == Status.RESTRICTED
    with pytest.raises(DecisionRefused, match="before the restriction is lifted"):
        check(state, LiftRestriction(by="dpo", at=T0, lift_on=T0.date(), reason="accuracy_verified"))
    state = decided(state, LiftRestriction(by="dpo", at=T0, lift_on=date(2027, 3, 12), reason="accuracy_verified"))
    state, commands = carry(state, T0)
    assert emails(commands) == ["restriction_lift_notice"] and not issued(commands)
    state = sent(state, "restriction_lift_notice", T0)
    assert not issued(decide(state, utc("2027-03-11T09:00:00"), POLICY))  # not before the date given
    state, commands = carry(state, utc("2027-03-12T09:00:00"))
    assert issued(commands) == [("crm", TaskAction.LIFT_RESTRICTION)]
    state = answer(state, "crm", TaskAction.LIFT_RESTRICTION, T0, restricted_items=3)
    assert state.status == Status.CLOSED


def test_general_objection_waits_for_the_dpo_restricted_meanwhile():
    state = confirm(
        discovered(
            Right.OBJECTION,
            T0,
            objection_scope=ObjectionScope.LEGITIMATE_INTEREST,
            restriction_ground=RestrictionGround.OBJECTION_PENDING,
        ),
        T0,
    )
    assert state.status == Status.AWAITING_DECISION
    state, commands = carry(state, T0)
    assert "dpo_decision_needed" in emails(commands)
    assert issued(commands, TaskAction.RESTRICT) == [("crm", TaskAction.RESTRICT)]  # 18(1)(d)
    state = decided(state, DecideObjection(by="dpo", at=T0, upheld=True, explanation="no compelling grounds"))
    _, commands = carry(state, T0)
    assert issued(commands, TaskAction.ERASE) == [("crm", TaskAction.ERASE)]  # 17(1)(c)


# --- deadlines and the DPO's decisions -----------------------------------------------------------


def test_gs13_extension_by_d1_moves_the_deadline_and_notifies():
    received = utc("2027-01-31T10:00:00")  # a Sunday; D1 = 2027-03-01 (raw 28 Feb is a Sunday)
    state = discovered(Right.ACCESS, received)
    state = decided(state, Extend(by="dpo", at=utc("2027-02-20T10:00:00"), reasons=["spread_across_systems"]))
    assert state.deadline == date(2027, 4, 28)  # §2.3 (b): 28 Feb + 2 months
    assert "extension" in emails(decide(state, received, POLICY))


def test_gs13_extension_after_d1_is_refused_with_the_reason():
    state = discovered(Right.ACCESS, T0)
    late = Extend(by="dpo", at=utc("2027-04-06T08:00:00"), reasons=["volume_of_data"])
    with pytest.raises(DecisionRefused, match="D1 was 2027-04-05"):
        check(state, late)
    assert decided(state, late) == state


def test_an_extension_is_allowed_up_to_the_last_instant_of_d1_in_paris():
    # R10: D1 is 2027-04-05; its day ends at 23:59:59.999 in Paris (21:59:59.999 UTC, summer time).
    state = discovered(Right.ACCESS, T0)
    check(state, Extend(by="dpo", at=utc("2027-04-05T21:59:59.999+00:00"), reasons=["volume_of_data"]))
    with pytest.raises(DecisionRefused, match="D1 was 2027-04-05"):
        check(state, Extend(by="dpo", at=utc("2027-04-05T21:59:59.999001+00:00"), reasons=["volume_of_data"]))


def test_gs14_a_request_a_year_after_the_previous_one_cannot_be_flagged():
    state = discovered(Right.ACCESS, T0)
    flag = FlagExcessive(
        by="dpo",
        at=T0,
        facts="Fourth identical request in eight weeks, no data change.",
        fee_cents=1500,
        previous_request_at=T0 - timedelta(days=395),
    )
    with pytest.raises(DecisionRefused, match="never excessive"):
        check(state, flag)
    with pytest.raises(DecisionRefused, match="first copy is always free"):
        check(state, flag.model_copy(update={"previous_request_at": None}))


def test_gs14_a_fee_is_noticed_first_and_holds_the_answer_until_paid():
    state, _ = carry(confirm(discovered(Right.ACCESS, T0), T0), T0)
    state = decided(
        state,
        FlagExcessive(
            by="dpo",
            at=T0,
            facts="Fourth identical request in eight weeks.",
            fee_cents=1500,
            previous_request_at=T0 - timedelta(days=14),
        ),
    )
    state = answer(state, "crm", TaskAction.EXPORT, T0, exported_items=4)
    state, commands = carry(state, T0)
    assert "fee_notice" in emails(commands) and "outcome_access" not in emails(commands)
    state = decided(state, FeePaid(by="dpo", at=T0))
    assert "outcome_access" in emails(decide(state, T0, POLICY))


def test_refusal_answers_with_reasons_and_closes():
    state = decided(
        discovered(Right.ACCESS, T0),
        Refuse(by="dpo", at=T0, reason="manifestly_unfounded", explanation="Harassment campaign documented."),
    )
    state, commands = carry(state, T0)
    assert emails(commands)[-1] == "refusal"
    assert sent(state, "refusal", T0).status == Status.CLOSED


def test_partial_refusal_is_notified_while_the_rest_goes_on():
    state = decided(
        discovered(Right.ACCESS, T0),
        Refuse(
            by="dpo", at=T0, reason="rights_of_others", explanation="Notes about colleagues redacted.", partial=True
        ),
    )
    assert "refusal" in emails(decide(state, T0, POLICY)) and state.status == Status.AWAITING_VERIFICATION


def test_gs23_legal_hold_keeps_its_data_and_release_purges_them():
    state, _ = carry(discovered(Right.ERASURE, T0, holders=("crm",)), T0)
    state = decided(
        state,
        Hold(
            by="dpo",
            at=T0,
            hold_id="dispute-1",
            categories=["quote_requests"],
            owner="legal",
            review_on=date(2027, 9, 1),
        ),
    )
    state, commands = carry(confirm(state, T0), T0)
    erase = next(c for c in commands if isinstance(c, IssueTask) and c.action == TaskAction.ERASE)
    assert erase.params["holds"][0]["hold_id"] == "dispute-1"
    kept = KeptItem(item="quote_requests", count=2, ground=KeepGround.LEGAL_CLAIMS, until="2027-09-01")
    state = answer(state, "crm", TaskAction.ERASE, T0, erased_items=5, kept=[kept])
    state, _ = carry(state, T0)
    state = sent(state, "outcome_erasure", T0)
    assert state.status == Status.CLOSED and state.subject is not None  # kept sealed while the hold lasts
    assert not any(isinstance(c, DestroySubjectKey) for c in decide(state, T0, POLICY))
    with pytest.raises(DecisionRefused, match="before erasure"):
        check(
            state.model_copy(update={"status": Status.PROCESSING}),
            Hold(by="dpo", at=T0, hold_id="late", categories=["*"], owner="legal", review_on=date(2027, 9, 1)),
        )
    state = decided(state, Release(by="dpo", at=T0, hold_id="dispute-1"))
    state, commands = carry(state, T0)
    assert issued(commands, TaskAction.ERASE) == [("crm", TaskAction.ERASE)]  # the overdue data go
    state = answer(state, "crm", TaskAction.ERASE, T0, key="release-dispute-1", erased_items=2)
    assert not any(isinstance(c, DestroySubjectKey) for c in decide(state, T0, POLICY))  # R35: notices pending
    for recipient in ("franchise-lyon", "telephony"):
        state = answer(state, recipient, TaskAction.NOTIFY_RECIPIENT, T0, key="erasure")
    for system in ("crm", "newsletter"):  # §3.2: marketing stopped before the confirmation; answered at last
        state = answer(state, system, TaskAction.SUPPRESS_MARKETING, T0)
    assert any(isinstance(c, DestroySubjectKey) for c in decide(state, T0, POLICY))


def test_closed_cases_are_purged_after_the_retention_period():
    state = discovered(Right.ACCESS, T0, holders=())
    state, _ = carry(confirm(state, T0), T0)
    state = sent(state, "outcome_no_data", T0)
    assert not any(isinstance(c, PurgeCaseRecord) for c in decide(state, T0 + timedelta(days=365 * 5 - 1), POLICY))
    assert any(isinstance(c, PurgeCaseRecord) for c in decide(state, T0 + timedelta(days=365 * 5 + 2), POLICY))


# --- post-mortem (LIL 85) and minors -------------------------------------------------------------


def death(proof: bool) -> dict:
    return {
        "post_mortem": PostMortemFacts(
            action=PostMortemAction.NOTIFY_DEATH,
            requester_role="heir",
            proof_of_death=proof,
            proof_of_standing=proof,
            wants_justification=True,
        )
    }


def test_gs16_a_death_report_without_proof_erases_nothing():
    state = discovered(Right.POST_MORTEM, T0, holders=("crm",), **death(False))
    state, commands = carry(state, T0)
    assert not issued(commands, TaskAction.ERASE) and not issued(commands, TaskAction.SUPPRESS_MARKETING)
    assert "death_proof_request" in emails(commands)


# --- a death reported without proof waits for it (issue 10, item 13) -------------------------------


def test_gs16_a_report_without_proof_waits_with_a_reminder_then_closes_with_a_notice():
    state, commands = carry(discovered(Right.POST_MORTEM, T0, holders=("crm",), **death(False)), T0)
    assert state.status == Status.AWAITING_PROOF  # not closed by the request itself
    assert sent(state, "death_proof_request", T0).status == Status.AWAITING_PROOF
    kinds = [c.params.get("kind") for c in commands if isinstance(c, SendEmail) and c.recipient == "dpo"]
    assert kinds == ["death_notified"]  # the DPO records the check with verify-id
    _, commands = carry(state, T0 + timedelta(days=14))
    assert [c.params for c in commands if getattr(c, "command_id", "") == "email:death_proof_reminder"] == [
        {"reminder": True}
    ]
    state, commands = carry(state, T0 + timedelta(days=30))
    assert "death_proof_missing" in emails(commands) and not issued(commands, TaskAction.ERASE)
    assert sent(state, "death_proof_missing", T0 + timedelta(days=30)).status == Status.CLOSED


def test_gs16_proof_checked_by_the_dpo_resumes_the_case_and_moves_the_deadline():
    state, _ = carry(discovered(Right.POST_MORTEM, T0, holders=("crm",), **death(False)), T0)
    state = decided(state, VerifyId(by="dpo", at=utc("2027-03-12T10:00:00")))
    assert state.identity_checked == "death and standing checked on 2027-03-12 by dpo"  # R16, R40: nothing else
    assert state.suspended_days == 7 and state.deadline == date(2027, 4, 12)  # R12: from the request to the check
    _, commands = carry(state, utc("2027-03-12T10:00:00"))
    assert issued(commands, TaskAction.SUPPRESS_MARKETING) and issued(commands, TaskAction.ERASE)
    assert "deadline_update" in emails(commands)


def test_gs16_proof_announced_on_the_request_is_still_uploaded_and_checked_before_anything_is_done():
    # The intake's proof flags say the heir has the documents, not that anyone saw them (R39.1, R40).
    state, commands = carry(discovered(Right.POST_MORTEM, T0, holders=("crm",), **death(True)), T0)
    assert state.status == Status.AWAITING_PROOF and "death_proof_request" in emails(commands)
    assert not issued(commands, TaskAction.SUPPRESS_MARKETING) and not issued(commands, TaskAction.ERASE)
    state = decided(state, VerifyId(by="dpo", at=utc("2027-03-08T10:00:00")))
    _, commands = carry(state, utc("2027-03-08T10:00:00"))
    assert issued(commands, TaskAction.SUPPRESS_MARKETING) and issued(commands, TaskAction.ERASE)


def test_gs17_directives_on_file_go_first_to_the_dpo():
    state, _ = carry(discovered(Right.POST_MORTEM, T0, holders=("crm", "directives"), **death(True)), T0)
    state = decided(state, VerifyId(by="dpo", at=T0))
    assert state.status == Status.AWAITING_DECISION
    state, commands = carry(state, T0)
    kinds = [c.params.get("kind") for c in commands if isinstance(c, SendEmail) and c.recipient == "dpo"]
    assert kinds == ["directives_on_file"]  # after the alert to check the proof, the one to decide
    assert issued(commands, TaskAction.SUPPRESS_MARKETING) and not issued(commands, TaskAction.ERASE)
    state = decided(state, ApplyDirectives(by="dpo", at=T0, erase=True))
    _, commands = carry(state, T0)
    assert ("directives", TaskAction.ERASE) in issued(commands)


def test_gs18_a_directive_is_recorded_in_the_directives_system():
    facts = PostMortemFacts(action=PostMortemAction.RECORD_DIRECTIVE, specific_consent=True)
    state, commands = carry(confirm(discovered(Right.POST_MORTEM, T0, holders=(), post_mortem=facts), T0), T0)
    assert issued(commands) == [("directives", TaskAction.RECORD_SUBMISSION)]


def test_gs19_minor_at_collection_raises_a_priority_alert():
    commands = decide(evolve(None, opened(Right.ERASURE, T0, minor_at_collection=True)), T0, POLICY)
    assert any(getattr(c, "kind", "") == "minor_priority" for c in commands)
    assert next(c for c in commands if getattr(c, "message_type", "") == "receipt").params == {"priority": True}


# --- properties: the decisions and the ladder keep the deadline rules (R8, R10, R12) --------------

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 1), timezones=st.just(UTC))


@given(instants, st.integers(min_value=0, max_value=24 * 80))
def test_an_extension_is_accepted_exactly_until_d1_and_then_moves_the_deadline_to_d3(received, hours_later):
    state = evolve(None, opened(Right.ACCESS, received))
    at = received + timedelta(hours=hours_later)
    extend = Extend(by="dpo", at=at, reasons=["volume_of_data"])
    after = decided(state, extend)
    if at <= end_of_day(state.d1):
        assert after.deadline == compute_deadline(received).d3 >= state.d1
    else:
        assert after == state


@given(instants, st.integers(min_value=0, max_value=60))
def test_an_l2_confirmation_suspends_by_the_days_waited(received, waited):
    state = discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2)
    state, _ = carry(state, received)  # the challenge leaves at once
    state = confirm(state, received + timedelta(days=waited))
    days = (receipt_day(received + timedelta(days=waited)) - receipt_day(received)).days
    assert state.suspended_days == days
    assert state.deadline == compute_deadline(received, suspended_days=days).d1


def test_a_closed_case_keeps_no_sealed_personal_values():
    state, _ = carry(confirm(discovered(Right.RECTIFICATION, T0, holders=("crm",)), T0), T0)
    state = answer(state, "crm", TaskAction.RECTIFY, T0, fields_changed=["phone"], changes=SEALED)
    state, _ = carry(state, T0)
    state = sent(state, "outcome_rectification", T0)
    assert state.status == Status.CLOSED  # R50: procedural facts only
    assert state.payload is None
    assert all(t.changes is None for t in state.tasks.values())
    assert [t.fields_changed for t in state.tasks.values() if t.action == TaskAction.RECTIFY] == [("phone",)]
    out = [t for t in state.tasks.values() if t.status is None]
    assert out and state.subject is not None  # the Art. 19 notices still out may be sent again (R35)
    for task in out:
        state = answer(state, task.system, task.action, T0, task.key)
    assert state.subject is None  # the last one answered: no sealed value left


def test_marketing_stops_before_an_erasure_is_verified_but_the_data_wait():
    _, commands = carry(discovered(Right.ERASURE, T0, holders=("crm", "newsletter")), T0)
    stop = [c for c in commands if isinstance(c, IssueTask) and c.action == TaskAction.SUPPRESS_MARKETING]
    assert {c.params["reason"] for c in stop} == {"erasure_pending"}  # §3.2: not an unverified erasure


def test_a_request_entered_after_its_deadline_still_leaves_a_week_to_confirm():
    received = T0 - timedelta(days=60)  # a letter keyed in late: D1 has passed
    state, _ = carry(discovered(Right.ACCESS, received), T0)
    assert "identity_not_verified" not in emails(decide(state, T0 + timedelta(days=6), POLICY))
    assert "identity_not_verified" in emails(decide(state, T0 + timedelta(days=7), POLICY))


def test_the_internal_target_is_five_working_days_before_the_deadline_that_applies():
    state = evolve(None, opened(Right.ACCESS, T0))
    assert internal_target(state) == date(2027, 3, 26)  # raw D1 Mon 5 Apr 2027; Easter Monday 29 Mar skipped
    extended = decided(state, Extend(by="dpo", at=T0, reasons=["volume_of_data"]))
    assert internal_target(extended) == date(2027, 5, 31)  # raw D3 Sat 5 Jun 2027 minus 5 working days


def test_gs24_a_representative_is_checked_by_a_person_and_the_check_is_logged():
    state = discovered(
        Right.ACCESS, T0, identity_level=IdentityLevel.L3, representative_role="lawyer", mandate_provided=True
    )
    state, commands = carry(state, T0)
    assert emails(commands)[-1] == "dpo_decision_needed" and "verification" not in emails(commands)
    state = decided(state, VerifyId(by="dpo", at=utc("2027-03-08T10:00:00")))
    assert state.identity_checked == "ID and mandate of the representative checked on 2027-03-08 by dpo"  # R6
    assert state.status == Status.PROCESSING


def test_a_notice_that_fails_after_closure_still_alerts_the_dpo():
    state, _ = carry(confirm(discovered(Right.RECTIFICATION, T0, holders=("crm",)), T0), T0)
    state = answer(state, "crm", TaskAction.RECTIFY, T0, fields_changed=["phone"])
    state, _ = carry(state, T0)
    state = sent(state, "outcome_rectification", T0)
    assert state.status == Status.CLOSED
    state = answer(
        state,
        "franchise-lyon",
        TaskAction.NOTIFY_RECIPIENT,
        T0,
        key="rectification",
        status=TaskStatus.FAILED,
        error="TimeoutError after 3 attempt(s)",
    )
    assert "dpo_task_failed" in emails(decide(state, T0, POLICY))  # R35: every notice is accounted for


# --- Art. 12(4) after an extension (issue 10, item 1) ----------------------------------------------


def extended_erasure(holders=("crm", "newsletter")):
    state, _ = carry(confirm(discovered(Right.ERASURE, T0, holders=holders), T0), T0)  # D1 2027-04-05
    return decided(state, Extend(by="dpo", at=utc("2027-03-20T10:00:00"), reasons=["spread_across_systems"]))


def test_a_refusal_or_a_fee_after_d1_is_refused_even_when_the_case_is_extended():
    state = extended_erasure()
    assert state.deadline == date(2027, 6, 7)
    late = utc("2027-04-20T10:00:00")
    refuse = Refuse(by="dpo", at=late, reason="legal_obligation", explanation="Invoices kept.", partial=True)
    with pytest.raises(DecisionRefused, match=r"D1 was 2027-04-05.*extended to 2027-06-07.*Art\. 12\(4\)"):
        check(state, refuse)
    flag = FlagExcessive(
        by="dpo", at=late, facts="Fourth identical request in eight weeks.", previous_request_at=T0 - timedelta(days=9)
    )
    with pytest.raises(DecisionRefused, match="D1 was 2027-04-05"):
        check(state, flag)
    assert decided(state, refuse) == state
    check(state, refuse.model_copy(update={"at": utc("2027-04-05T20:00:00")}))  # still in time on D1 itself


def test_an_extended_case_that_will_keep_items_alerts_the_dpo_before_d1():
    state = extended_erasure()
    kept = KeptItem(item="invoices", count=1, ground=KeepGround.LEGAL_OBLIGATION, until="2036-05-02")
    state = answer(state, "crm", TaskAction.ERASE, T0, erased_items=3, kept=[kept])  # newsletter still pending
    _, commands = carry(state, utc("2027-03-21T09:00:00"))
    due = [c for c in commands if isinstance(c, SendEmail) and c.params.get("kind") == "partial_refusal_due"]
    assert due and due[0].recipient == "dpo"
    assert not [c for c in decide(state, utc("2027-04-06T09:00:00"), POLICY) if c.command_id == due[0].command_id]
    noticed = decided(
        state,
        Refuse(
            by="dpo", at=utc("2027-03-22T10:00:00"), reason="legal_obligation", explanation="Invoices.", partial=True
        ),
    )
    assert "partial_refusal_due" not in str(decide(noticed, utc("2027-03-23T09:00:00"), POLICY))


def test_a_suppression_entry_alone_is_no_partial_refusal_to_notify():
    state = extended_erasure()
    entry = KeptItem(item="suppression_entry", ground=KeepGround.SUPPRESSION_LIST, until="2030-03-05")
    state = answer(state, "newsletter", TaskAction.ERASE, T0, erased_items=2, kept=[entry])
    assert "partial_refusal_due" not in str(decide(state, utc("2027-03-21T09:00:00"), POLICY))


# --- the deadline the person is told is the one that applies (issue 10, item 2) --------------------


def test_gs02_the_new_date_is_sent_once_the_suspension_ends():
    received = utc("2027-03-01T08:00:00")
    state = discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2)
    state, _ = carry(state, utc("2027-03-02T09:00:00"))
    state, commands = carry(confirm(state, utc("2027-03-10T09:00:00")), utc("2027-03-10T09:00:00"))
    assert "deadline_update" in emails(commands) and state.deadline == date(2027, 4, 9)
    assert "deadline_update" not in emails(decide(state, utc("2027-03-11T09:00:00"), POLICY))  # once


def test_a_challenge_sent_after_three_working_days_suspends_nothing_and_moves_no_date():
    received = utc("2027-03-01T08:00:00")  # Monday; 3 working days later is Thursday 4 March
    state = discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2)
    state, _ = carry(state, utc("2027-03-05T09:00:00"))  # a slow system: the challenge leaves on Friday
    state, commands = carry(confirm(state, utc("2027-03-10T09:00:00")), utc("2027-03-10T09:00:00"))
    assert state.suspended_days == 0 and state.deadline == date(2027, 4, 1)
    assert "deadline_update" not in emails(commands)


def test_a_representative_suspends_the_clock_only_once_a_document_is_asked_for():
    rep = {"identity_level": IdentityLevel.L3, "representative_role": "lawyer", "mandate_provided": True}
    state, _ = carry(discovered(Right.ACCESS, T0, **rep), T0)
    checked = decided(state, VerifyId(by="dpo", at=utc("2027-03-09T10:00:00")))
    assert checked.suspended_days == 0 and checked.deadline == date(2027, 4, 5)  # nothing was asked of anyone
    asked = decided(state, RequestId(by="dpo", at=utc("2027-03-08T10:00:00"), reason="challenge_failed"))
    checked = decided(asked, VerifyId(by="dpo", at=utc("2027-03-12T10:00:00")))
    assert checked.suspended_days == 4 and checked.deadline == date(2027, 4, 9)  # from the request to the check


# --- a requester at a new address (issue 10, item 3) ----------------------------------------------


def l2_with_requester():
    received = utc("2027-03-01T08:00:00")
    state = discovered(Right.ACCESS, received, identity_level=IdentityLevel.L2)
    state = state.model_copy(update={"requester": SEALED})  # the address the request came from
    state, _ = carry(state, utc("2027-03-02T08:00:00"))
    return state


def test_gs03_the_requester_at_the_new_address_hears_that_the_check_failed_and_how_to_prove_who_they_are():
    state = l2_with_requester()
    state, commands = carry(state, utc("2027-03-16T09:00:00"))
    told = [c for c in commands if isinstance(c, SendEmail) and c.recipient == "requester"]
    assert [(c.message_type, c.params) for c in told] == [("challenge_unanswered", {"closed": False})]
    _, commands = carry(state, utc("2027-04-01T09:00:00"))
    closing = [(c.message_type, c.recipient) for c in commands if isinstance(c, SendEmail)]
    assert closing == [("challenge_unanswered", "requester"), ("identity_not_verified", "subject")]


def test_the_id_document_request_goes_to_the_requester_who_insists():
    state = decided(l2_with_requester(), RequestId(by="dpo", at=utc("2027-03-20T09:00:00"), reason="challenge_failed"))
    (request,) = [c for c in decide(state, utc("2027-03-20T09:00:00"), POLICY) if "id_document" in c.command_id]
    assert request.recipient == "requester"


def test_a_closed_case_forgets_the_requester_address():
    state = sent(l2_with_requester(), "identity_not_verified", utc("2027-04-01T09:01:00"))
    assert state.status == Status.CLOSED and state.requester is None


# --- rectification answers what each system did (issue 10, item 6) --------------------------------


def test_a_rectification_a_system_could_not_apply_is_answered_naming_it_while_an_erasure_waits():
    state, _ = carry(confirm(discovered(Right.RECTIFICATION, T0, holders=("crm", "recruitment")), T0), T0)
    state = answer(state, "crm", TaskAction.RECTIFY, T0, fields_changed=["phone"])
    state = answer(state, "recruitment", TaskAction.RECTIFY, T0, status=TaskStatus.FAILED, error="Refused")
    assert state.status == Status.ANSWERING  # the person is answered by the deadline, the DPO alerted
    assert {"outcome_rectification", "dpo_task_failed"} <= set(emails(decide(state, T0, POLICY)))
    erasure, _ = carry(confirm(discovered(Right.ERASURE, T0, holders=("crm", "recruitment")), T0), T0)
    erasure = answer(erasure, "crm", TaskAction.ERASE, T0, erased_items=3)
    erasure = answer(erasure, "recruitment", TaskAction.ERASE, T0, status=TaskStatus.FAILED, error="Down")
    assert erasure.status == Status.PROCESSING  # nothing is said erased until it is


# --- the fee notice says what the case is (issue 10, item 9) --------------------------------------


def test_a_further_copy_fee_is_for_an_access_copy_only_and_only_as_a_fee():
    flag = FlagExcessive(
        by="dpo",
        at=T0,
        facts="Same data, same period, copy sent two weeks ago.",
        fee_cents=1500,
        basis="further_copy",
        previous_request_at=T0 - timedelta(days=14),
    )
    check(discovered(Right.ACCESS, T0), flag)
    with pytest.raises(DecisionRefused, match=r"Art\. 15\(3\), R20"):
        check(discovered(Right.ERASURE, T0), flag)
    with pytest.raises(DecisionRefused, match="only ever costs a fee"):
        check(discovered(Right.ACCESS, T0), flag.model_copy(update={"fee_cents": None}))


def test_the_priority_of_lil_51_ii_is_the_erasures_only():
    # Issue 10, item 11: an access request about data collected from a minor keeps the ordinary deadline.
    commands = decide(evolve(None, opened(Right.ACCESS, T0, minor_at_collection=True)), T0, POLICY)
    assert not any(getattr(c, "kind", "") == "minor_priority" for c in commands)
    assert next(c for c in commands if getattr(c, "message_type", "") == "receipt").params == {"priority": False}


# --- an heir's access, limited to what settling the estate needs (issue 10, item 14) --------------


def estate(proof: bool) -> dict:
    facts = death(proof)["post_mortem"].model_copy(update={"action": PostMortemAction.ESTATE_ACCESS})
    return {"post_mortem": facts}


def test_an_heirs_access_waits_for_the_dpo_who_decides_what_the_estate_needs():
    state = discovered(Right.POST_MORTEM, T0, holders=("crm", "newsletter"), **estate(True))
    assert state.status == Status.AWAITING_PROOF  # the certificate announced is uploaded and checked first
    state, _ = carry(state, T0)
    state = decided(state, VerifyId(by="dpo", at=T0))
    assert state.status == Status.AWAITING_DECISION
    state, commands = carry(state, T0)
    kinds = [c.params.get("kind") for c in commands if isinstance(c, SendEmail) and c.recipient == "dpo"]
    assert kinds == ["estate_access"]
    assert issued(commands, TaskAction.SUPPRESS_MARKETING) and not issued(commands, TaskAction.EXPORT)
    granted = DecideEstateAccess(by="dpo", at=T0, categories=["invoices"], explanation="An unpaid invoice.")
    state, commands = carry(decided(state, granted), T0)
    assert issued(commands, TaskAction.EXPORT) == [("crm", TaskAction.EXPORT), ("newsletter", TaskAction.EXPORT)]
    for system in ("crm", "newsletter"):
        state = answer(state, system, TaskAction.EXPORT, T0, exported_items=2)
    _, commands = carry(state, T0)
    assert emails(commands)[-1] == "estate_access" and not issued(commands, TaskAction.ERASE)


def test_the_estate_decision_is_only_for_an_heirs_request_and_one_without_proof_waits_for_it():
    granted = DecideEstateAccess(by="dpo", at=T0, categories=["invoices"], explanation="An unpaid invoice.")
    with pytest.raises(DecisionRefused, match="no heir's request for the estate"):
        check(discovered(Right.ACCESS, T0), granted)
    waiting = discovered(Right.POST_MORTEM, T0, holders=("crm",), **estate(False))
    assert waiting.status == Status.AWAITING_PROOF
    with pytest.raises(DecisionRefused):
        check(waiting, granted)
