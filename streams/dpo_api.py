"""The DPO's HTTP API behind `dsr case ...`: list and show cases, take decisions. Procedural facts only (R50)."""

from __future__ import annotations

import hmac
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from gdpr.case_state import OPEN, CaseState
from gdpr.deadlines import receipt_day
from gdpr.decisions import DecisionRefused, check
from gdpr.identity import internal_target
from gdpr.tokens import derived_secret
from schemas.cases import DpoDecided
from schemas.decisions import Decision, FlagExcessive
from schemas.intake import describe
from streams import topics
from streams.cases import CaseTable, audit_decision
from streams.context import Context
from streams.intake import reference

DecisionAdapter: TypeAdapter[Decision] = TypeAdapter(Decision)
SEALED_FIELDS = {"subject", "payload", "reply_to", "requester", "done", "verification_token_id"}


def dpo_token(secret: bytes) -> str:
    """The bearer token of the DPO API; `dsr case` derives it from DSR_SECRET_KEY."""
    return derived_secret(secret, "dpo-api")


def authorized(ctx: Context, authorization: str) -> bool:
    expected = f"Bearer {dpo_token(ctx.config.secret_key)}"
    return hmac.compare_digest(authorization.encode(), expected.encode())


def all_cases(cases: CaseTable) -> list[CaseState]:
    return [CaseState.from_bytes(raw) for raw in list(cases.values())]


def find(cases: CaseTable, ref: str) -> CaseState | None:
    """By request id or by the reference people quote (DSR-...)."""
    raw = cases.get(ref)
    if raw:
        return CaseState.from_bytes(raw)
    wanted = ref.strip().upper()
    return next((s for s in all_cases(cases) if reference(s.request_id) == wanted), None)


def summary(state: CaseState) -> dict:
    return {
        "reference": reference(state.request_id),
        "request_id": state.request_id,
        "right": state.right.value,
        "status": state.status.value,
        "received_on": receipt_day(state.received_at).isoformat(),
        "deadline": state.deadline.isoformat(),
        "extended": state.extension is not None,
        "target": internal_target(state).isoformat(),
        "identity_level": state.level.value,
        "minor": state.details.minor_at_collection,
        "holds": [h.hold_id for h in state.active_holds()],
    }


def list_cases(cases: CaseTable, which: str) -> list[dict]:
    chosen = [s for s in all_cases(cases) if which == "all" or s.status in OPEN]
    return [summary(s) for s in sorted(chosen, key=lambda s: (s.deadline, s.received_at))]


def show_case(state: CaseState) -> dict:
    record = state.model_dump(mode="json", exclude=SEALED_FIELDS)
    for task in record["tasks"].values():
        task.pop("changes", None)
    return {**summary(state), "record": record}


def previous_request(cases: CaseTable, state: CaseState) -> datetime | None:
    """The same person's previous request of the same right: the facts R21 is judged on."""
    earlier = [
        s.received_at
        for s in all_cases(cases)
        if s.subject_ref == state.subject_ref and s.right == state.right and s.received_at < state.received_at
    ]
    return max(earlier, default=None)


def parse_decision(ctx: Context, cases: CaseTable, state: CaseState, body: dict) -> Decision:
    decision = DecisionAdapter.validate_python({**body, "at": ctx.clock().isoformat()})
    if isinstance(decision, FlagExcessive):
        decision = decision.model_copy(update={"previous_request_at": previous_request(cases, state)})
    return decision


async def decide(ctx: Context, cases: CaseTable, ref: str, body: dict) -> tuple[int, dict]:
    """Check a decision against the rules, then publish it; refused ones say why (409)."""
    state = find(cases, ref)
    if state is None:
        return 404, {"error": f"no case '{ref}' (see `dsr case list --all`)"}
    try:
        decision = parse_decision(ctx, cases, state, body)
        check(state, decision)
    except ValidationError as exc:
        return 400, {"error": describe(exc)}
    except DecisionRefused as exc:
        await audit_decision(ctx, state, decision, str(exc))  # R10, R50: a blocked decision is on record too
        return 409, {"error": str(exc)}
    event = DpoDecided(request_id=state.request_id, decision=decision)
    await ctx.publisher.publish(topics.CASES, state.request_id, event.to_bytes())
    return 202, {"accepted": decision.kind, "reference": reference(state.request_id), "at": decision.at.isoformat()}
