"""The DPO's HTTP API behind `dsr case ...`: list and show cases, take decisions. Procedural facts only (R50)."""

from __future__ import annotations

import hmac

from pydantic import TypeAdapter, ValidationError

from gdpr.case_state import CaseState
from gdpr.decisions import DecisionRefused, check
from gdpr.tokens import derived_secret
from schemas.cases import DpoDecided
from schemas.decisions import Decision, FlagExcessive
from schemas.intake import describe
from streams import topics
from streams.cases import audit_decision
from streams.context import Context
from streams.intake import reference
from streams.web.case_directory import CaseDirectory, summary

DecisionAdapter: TypeAdapter[Decision] = TypeAdapter(Decision)
SEALED_FIELDS = {"subject", "payload", "reply_to", "requester", "done", "verification_token_id"}


def dpo_token(secret: bytes) -> str:
    """The bearer token of the DPO API; `dsr case` derives it from DSR_SECRET_KEY."""
    return derived_secret(secret, "dpo-api")


def authorized(ctx: Context, authorization: str) -> bool:
    expected = f"Bearer {dpo_token(ctx.config.secret_key)}"
    return hmac.compare_digest(authorization.encode(), expected.encode())


def no_case(ctx: Context, ref: str) -> dict:
    """The 404's answer: a case may never have existed, or may have been purged after its retention (R51)."""
    days = ctx.config.policy.case_retention.days
    return {
        "error": f"no case '{ref}': unknown, or purged {days} days after it closed (R51, DSR_CASE_RETENTION_DAYS); "
        "a purge is in dsr.audit as case_purged (see `dsr case list --all` for the cases kept)"
    }


def show_case(state: CaseState) -> dict:
    record = state.model_dump(mode="json", exclude=SEALED_FIELDS)
    for task in record["tasks"].values():
        task.pop("changes", None)
    return {**summary(state), "record": record}


async def parse_decision(ctx: Context, cases: CaseDirectory, state: CaseState, body: dict) -> Decision:
    decision = DecisionAdapter.validate_python({**body, "at": ctx.clock().isoformat()})
    if isinstance(decision, FlagExcessive):
        decision = decision.model_copy(update={"previous_request_at": await cases.previous_request(state)})
    return decision


async def decide(ctx: Context, cases: CaseDirectory, ref: str, body: dict) -> tuple[int, dict]:
    """Check a decision against the rules, then publish it; refused ones say why (409). The coordinator checks
    it again against the case as it stands when the decision arrives (gdpr.decisions, one rule for both)."""
    state = await cases.find(ref)
    if state is None:
        return 404, no_case(ctx, ref)
    try:
        decision = await parse_decision(ctx, cases, state, body)
        check(state, decision)
    except ValidationError as exc:
        return 400, {"error": describe(exc)}
    except DecisionRefused as exc:
        await audit_decision(ctx, state, decision, exc)  # R10, R50: a blocked decision is on record too
        return 409, {"error": str(exc), "error_fr": exc.fr}
    event = DpoDecided(request_id=state.request_id, decision=decision)
    await ctx.publisher.publish(topics.CASES, state.request_id, event.to_bytes())
    return 202, {"accepted": decision.kind, "reference": reference(state.request_id), "at": decision.at.isoformat()}
