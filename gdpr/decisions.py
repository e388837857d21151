"""The DPO's decisions: whether one may be taken now (with the reason when not), and what it changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from gdpr.case_state import FORGOTTEN, OPEN, CaseState, DecisionRecord, Status, moved
from gdpr.deadlines import end_of_day, receipt_day
from gdpr.identity import confirmed, deadlines_of
from gdpr.work import to_processing
from schemas.decisions import (
    ApplyDirectives,
    DecideEstateAccess,
    DecideObjection,
    Decision,
    Extend,
    FeeBasis,
    FeePaid,
    FlagExcessive,
    Hold,
    LiftRestriction,
    Refuse,
    Release,
    RequestId,
    VerifyId,
    Withdraw,
)
from schemas.intake import PostMortemAction, Right
from schemas.tasks import LegalHold, TaskAction

ONE_YEAR = timedelta(days=365)
# R16: a check is noted "checked on <date> by <role>". Every decision is the DPO role's (the console, the API and
# the CLI refuse anyone else); who it was, a login, stays in the decision record and dsr.audit only (R50).
CHECKING_ROLE = "dpo"


class DecisionRefused(ValueError):
    """A decision the rules do not allow now; the message says why and what to do instead, in English (the API,
    the CLI, the audit trail) and in French (the console of a French DPO)."""

    def __init__(self, en: str, fr: str) -> None:
        super().__init__(en)
        self.fr = fr

    def says(self, language: str) -> str:
        return self.fr if language == "fr" else str(self)


def check(state: CaseState, decision: Decision) -> None:
    """Raise DecisionRefused unless `decision` may be taken on this case at `decision.at`."""
    if state.status not in OPEN and not isinstance(decision, Release):
        raise DecisionRefused(
            f"the case is closed (since {state.closed_at:%Y-%m-%d}); only a hold can be released",
            f"le dossier est clos (depuis le {state.closed_at:%d/%m/%Y}) ; seule une conservation peut être levée",
        )
    CHECKS[type(decision)](state, decision)


def possible_now(state: CaseState, now: datetime) -> dict[str, DecisionRefused | None]:
    """Each kind of decision, and why the rules refuse it on this case now (None: allowed). The console offers
    the allowed ones; what the DPO then fills in is checked again by `check`, as for `dsr case`."""
    answers: dict[str, DecisionRefused | None] = {}
    for kind, probe in _probes(state, now).items():
        if kind == "release" and not state.holds:
            answers[kind] = DecisionRefused("no legal hold on this case", "aucune conservation sur ce dossier")
            continue
        try:
            check(state, probe)
            answers[kind] = None
        except DecisionRefused as exc:
            answers[kind] = exc
    return answers


def _probes(state: CaseState, now: datetime) -> dict[str, Decision]:
    """The least a decision of each kind needs, so that only the state decides whether it is possible."""
    by, later = {"by": "console", "at": now}, receipt_day(now) + timedelta(days=30)
    hold = state.holds[0].hold_id if state.holds else "-"
    return {
        "extend": Extend(**by, reasons=["volume_of_data"]),
        "refuse": Refuse(**by, reason="other", explanation="-", partial=state.status == Status.ANSWERING),
        "flag_excessive": FlagExcessive(**by, facts="-" * 20, fee_cents=100, previous_request_at=state.received_at),
        "request_id": RequestId(**by, reason="challenge_failed"),
        "verify_id": VerifyId(**by),
        "hold": Hold(**by, hold_id="-probe-", categories=["*"], owner="-", review_on=later),
        "release": Release(**by, hold_id=hold),
        "decide_objection": DecideObjection(**by, upheld=True, explanation="-"),
        "lift_restriction": LiftRestriction(**by, lift_on=later, reason="accuracy_verified"),
        "fee_paid": FeePaid(**by),
        "withdraw": Withdraw(**by),
        "apply_directives": ApplyDirectives(**by),
        "decide_estate_access": DecideEstateAccess(**by, categories=["-"], explanation="-"),
    }


def apply(state: CaseState, decision: Decision) -> CaseState:
    """The state after an allowed decision, with who/when logged (R50)."""
    record = DecisionRecord(kind=decision.kind, by=decision.by, at=decision.at)
    state = state.model_copy(update={"decisions": state.decisions + (record,)})
    return APPLY[type(decision)](state, decision)


# --- checks --------------------------------------------------------------------------------------


def _check_extend(state: CaseState, decision: Extend) -> None:
    if state.status in (Status.ANSWERING, Status.RESTRICTED):
        raise DecisionRefused(
            "the case is already answered: there is nothing left to extend",
            "le dossier a déjà reçu sa réponse : il n'y a plus rien à prolonger",
        )
    if state.extension is not None:
        raise DecisionRefused(
            "the deadline was already extended; the GDPR allows one extension of two months",
            "le délai a déjà été prolongé ; le RGPD n'autorise qu'une prolongation de deux mois",
        )
    if decision.at > end_of_day(state.d1):  # R10: decided and notified within the first month
        raise DecisionRefused(
            f"D1 was {state.d1.isoformat()} (end of day, Paris): an extension must be notified by then "
            "(Art. 12(3), R10). Answer now, or notify what will not be done (refuse) with the remedies.",
            f"le délai d'un mois expirait le {state.d1:%d/%m/%Y} : une prolongation devait être notifiée avant "
            "(article 12, paragraphe 3, R10). Répondez maintenant, ou notifiez ce qui ne sera pas fait (refus) "
            "avec les voies de recours.",
        )


def _check_refuse(state: CaseState, decision: Refuse) -> None:
    if state.status == Status.ANSWERING and not decision.partial:
        raise DecisionRefused(
            "the outcome is already being sent; record a partial refusal instead",
            "la réponse est déjà en cours d'envoi ; enregistrez plutôt un refus partiel",
        )
    _check_by_d1(state, decision, ("a refusal, even a partial one,", "un refus, même partiel,"))


def _check_by_d1(state: CaseState, decision: Decision, what: tuple[str, str]) -> None:
    """Art. 12(4), R11: not acting, in whole or in part, is notified by D1; an extension does not postpone it."""
    if decision.at > end_of_day(state.d1):
        extended = f", even though the case was extended to {state.deadline.isoformat()}" if state.extension else ""
        prolonged = f", même si le dossier a été prolongé jusqu'au {state.deadline:%d/%m/%Y}" if state.extension else ""
        raise DecisionRefused(
            f"D1 was {state.d1.isoformat()} (end of day, Paris): {what[0]} had to reach the person by then{extended} "
            "(Art. 12(4), R11). It can no longer be notified in time: act on the request.",
            f"le délai d'un mois expirait le {state.d1:%d/%m/%Y} : {what[1]} devait parvenir à la personne avant"
            f"{prolonged} (article 12, paragraphe 4, R11). Il ne peut plus être notifié à temps : donnez suite à la "
            "demande.",
        )


def _check_flag(state: CaseState, decision: FlagExcessive) -> None:
    previous = decision.previous_request_at
    if previous is None:
        raise DecisionRefused(
            "no previous request from this person: a first request cannot be flagged excessive, "
            "and the first copy is always free (Art. 12(5), 15(3), R19-R21)",
            "aucune demande antérieure de cette personne : une première demande ne peut pas être jugée excessive, "
            "et la première copie est toujours gratuite (articles 12(5), 15(3), R19-R21)",
        )
    if state.received_at - previous >= ONE_YEAR:
        raise DecisionRefused(
            f"the previous request was on {previous:%Y-%m-%d}, a year or more before this one: "
            "such an interval is never excessive (EDPB 01/2022, R21)",
            f"la demande précédente date du {previous:%d/%m/%Y}, un an ou plus avant celle-ci : "
            "un tel intervalle n'est jamais excessif (CEPD 01/2022, R21)",
        )
    if state.fee is not None:
        raise DecisionRefused("this case was already flagged", "ce dossier a déjà été signalé")
    if decision.basis == FeeBasis.FURTHER_COPY and (state.right != Right.ACCESS or decision.fee_cents is None):
        raise DecisionRefused(
            "a further copy of the same data for the same period is an access copy, and only ever costs a fee "
            "(Art. 15(3), R20); for anything else, flag it manifestly excessive with the facts (Art. 12(5), R21)",
            "seule une copie supplémentaire des mêmes données pour la même période, en accès, peut donner lieu à "
            "des frais (article 15(3), R20) ; sinon, signalez la demande comme manifestement excessive, faits à "
            "l'appui (article 12(5), R21)",
        )
    _check_by_d1(state, decision, ("a fee notice or a refusal (R21)", "un avis de frais ou un refus (R21)"))


def _check_verify_id(state: CaseState, decision: VerifyId) -> None:
    if state.status not in (Status.AWAITING_VERIFICATION, Status.AWAITING_PROOF):
        raise DecisionRefused(
            f"the case is {state.status.value}, not waiting for identity or for proof of a death",
            "le dossier n'attend ni la confirmation d'une identité ni la preuve d'un décès",
        )


def _check_request_id(state: CaseState, decision: RequestId) -> None:
    if state.status != Status.AWAITING_VERIFICATION:
        raise DecisionRefused(
            f"the case is {state.status.value}, not waiting for identity",
            "le dossier n'attend pas la confirmation d'une identité",
        )
    if state.id_requested_at is not None:
        raise DecisionRefused(
            "an ID document was already requested on this case", "un justificatif d'identité a déjà été demandé"
        )


def _check_hold(state: CaseState, decision: Hold) -> None:
    issued = state.tasks_for(TaskAction.ERASE)
    if issued:
        raise DecisionRefused(
            f"erase tasks already went out on {min(t.issued_at for t in issued):%Y-%m-%d}; "
            "a hold must be placed before erasure (R46). Ask the system's owner to restore from the archive.",
            f"l'effacement a déjà été demandé aux systèmes le {min(t.issued_at for t in issued):%d/%m/%Y} ; une "
            "conservation se décide avant l'effacement (R46). Demandez au responsable du système une restauration "
            "depuis l'archive.",
        )
    if any(h.hold_id == decision.hold_id for h in state.holds):
        raise DecisionRefused(
            f"hold '{decision.hold_id}' already exists on this case",
            f"la conservation « {decision.hold_id} » existe déjà sur ce dossier",
        )
    if decision.review_on <= receipt_day(decision.at):
        raise DecisionRefused(
            "a hold's review date must be in the future (R46)",
            "la date de réexamen d'une conservation doit être dans le futur (R46)",
        )


def _check_release(state: CaseState, decision: Release) -> None:
    if decision.hold_id not in {h.hold_id for h in state.holds}:
        known = ", ".join(h.hold_id for h in state.holds) or "none"
        raise DecisionRefused(
            f"no hold '{decision.hold_id}' on this case (holds: {known})",
            f"pas de conservation « {decision.hold_id} » sur ce dossier (conservations : {known})",
        )
    if decision.hold_id in state.released_holds:
        raise DecisionRefused(
            f"hold '{decision.hold_id}' was already released", f"la conservation « {decision.hold_id} » est déjà levée"
        )


def _check_objection(state: CaseState, decision: DecideObjection) -> None:
    if not state.is_general_objection() or state.status != Status.AWAITING_DECISION:
        raise DecisionRefused(
            "only a general objection (Art. 21(1)) waiting for a decision can be decided",
            "seule une opposition générale (article 21(1)) en attente de décision peut être tranchée",
        )


def _check_lift(state: CaseState, decision: LiftRestriction) -> None:
    if state.status != Status.RESTRICTED:
        raise DecisionRefused(
            f"the case is {state.status.value}: no restriction in place to lift",
            "aucune limitation en place à lever sur ce dossier",
        )
    if decision.lift_on <= receipt_day(decision.at):
        raise DecisionRefused(
            "the person must be told before the restriction is lifted (Art. 18(3)): choose a lift date after today",
            "la personne doit être prévenue avant la levée de la limitation (article 18(3)) : choisissez une date "
            "de levée après aujourd'hui",
        )


def _check_fee_paid(state: CaseState, decision: FeePaid) -> None:
    if state.fee is None or state.fee.fee_cents is None or state.fee_paid:
        raise DecisionRefused("no fee is awaited on this case", "aucuns frais ne sont attendus sur ce dossier")


def _check_withdraw(state: CaseState, decision: Withdraw) -> None:
    pass


def person_may_withdraw(state: CaseState) -> bool:
    """The person can withdraw from the status page until the answer is on its way (or while a fee is awaited,
    R21); what the systems already did stays done."""
    waiting_for_fee = state.status == Status.ANSWERING and state.fee is not None and not state.fee_paid
    return state.status in WITHDRAWABLE or waiting_for_fee


WITHDRAWABLE = frozenset(
    {
        Status.DISCOVERING,
        Status.AWAITING_VERIFICATION,
        Status.AWAITING_PROOF,
        Status.AWAITING_DECISION,
        Status.PROCESSING,
    }
)


def _check_estate(state: CaseState, decision: DecideEstateAccess) -> None:
    if state.post_mortem != PostMortemAction.ESTATE_ACCESS or state.status != Status.AWAITING_DECISION:
        raise DecisionRefused(
            "no heir's request for the estate is waiting for a decision on this case",
            "aucune demande d'héritier sur la succession n'attend de décision sur ce dossier",
        )


def _check_directives(state: CaseState, decision: ApplyDirectives) -> None:
    if state.post_mortem != PostMortemAction.NOTIFY_DEATH or state.status != Status.AWAITING_DECISION:
        raise DecisionRefused(
            "no directives waiting to be applied on this case", "aucune directive n'attend d'être appliquée ici"
        )


CHECKS = {
    Extend: _check_extend,
    Refuse: _check_refuse,
    FlagExcessive: _check_flag,
    VerifyId: _check_verify_id,
    RequestId: _check_request_id,
    Hold: _check_hold,
    Release: _check_release,
    DecideObjection: _check_objection,
    LiftRestriction: _check_lift,
    FeePaid: _check_fee_paid,
    Withdraw: _check_withdraw,
    ApplyDirectives: _check_directives,
    DecideEstateAccess: _check_estate,
}

# --- effects --------------------------------------------------------------------------------------


def _extend(state: CaseState, decision: Extend) -> CaseState:
    return state.model_copy(update={"extension": decision, "deadline": deadlines_of(state).d3})


def _refuse(state: CaseState, decision: Refuse) -> CaseState:
    if decision.partial:
        return state.model_copy(update={"partial_refusals": state.partial_refusals + (decision,)})
    return moved(state, Status.ANSWERING, refusal=decision)


def _flag(state: CaseState, decision: FlagExcessive) -> CaseState:
    if decision.fee_cents is not None:
        return state.model_copy(update={"fee": decision})
    refusal = Refuse(by=decision.by, at=decision.at, reason="manifestly_excessive", explanation=decision.facts)
    return moved(state, Status.ANSWERING, fee=decision, refusal=refusal)


def _verify_id(state: CaseState, decision: VerifyId) -> CaseState:
    if state.status == Status.AWAITING_PROOF:
        return confirmed(_proof_checked(state, decision), decision.at)
    what = "ID and mandate of the representative" if state.details.representative_role else "ID"
    note = f"{what} checked on {receipt_day(decision.at).isoformat()} by {CHECKING_ROLE}"  # R6, R16: nothing else
    return confirmed(state.model_copy(update={"identity_checked": note}), decision.at)


def _proof_checked(state: CaseState, decision: VerifyId) -> CaseState:
    """R39.1, R40: the death certificate and the requester's standing were checked, then deleted (R16)."""
    note = f"death and standing checked on {receipt_day(decision.at).isoformat()} by {CHECKING_ROLE}"
    return state.model_copy(update={"identity_checked": note})


def _request_id(state: CaseState, decision: RequestId) -> CaseState:
    return state.model_copy(update={"id_requested_at": decision.at, "id_request_reason": decision.reason})


def _hold(state: CaseState, decision: Hold) -> CaseState:
    hold = LegalHold(
        hold_id=decision.hold_id,
        categories=decision.categories,
        ground=decision.ground,
        owner=decision.owner,
        review_on=decision.review_on,
    )
    return state.model_copy(update={"holds": state.holds + (hold,)})


def _release(state: CaseState, decision: Release) -> CaseState:
    return state.model_copy(update={"released_holds": state.released_holds | {decision.hold_id}})


def _objection(state: CaseState, decision: DecideObjection) -> CaseState:
    state = state.model_copy(
        update={"objection_upheld": decision.upheld, "objection_explanation": decision.explanation}
    )
    return to_processing(state) if decision.upheld else moved(state, Status.ANSWERING)


def _lift(state: CaseState, decision: LiftRestriction) -> CaseState:
    return state.model_copy(update={"lift": decision})


def _fee_paid(state: CaseState, decision: FeePaid) -> CaseState:
    return state.model_copy(update={"fee_paid": True})


def _withdraw(state: CaseState, decision: Withdraw) -> CaseState:
    return moved(state, Status.CLOSED, withdrawn=True, closed_at=decision.at, **FORGOTTEN)


def _directives(state: CaseState, decision: ApplyDirectives) -> CaseState:
    return to_processing(state.model_copy(update={"directives_erase": decision.erase}))


def _estate(state: CaseState, decision: DecideEstateAccess) -> CaseState:
    return to_processing(state.model_copy(update={"estate": decision}))


APPLY = {
    Extend: _extend,
    Refuse: _refuse,
    FlagExcessive: _flag,
    VerifyId: _verify_id,
    RequestId: _request_id,
    Hold: _hold,
    Release: _release,
    DecideObjection: _objection,
    LiftRestriction: _lift,
    FeePaid: _fee_paid,
    Withdraw: _withdraw,
    ApplyDirectives: _directives,
    DecideEstateAccess: _estate,
}
