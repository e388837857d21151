"""The DPO's decisions on a case: who decided what, when and why (R50). Each is one event on `dsr.cases`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.tasks import KeepGround


class ExtensionReason(StrEnum):
    """The controlled list of R10. "A lot of work" and "many requests" are deliberately absent."""

    VOLUME_OF_DATA = "volume_of_data"
    SPREAD_ACROSS_SYSTEMS = "spread_across_systems"  # data spread across units or processors
    REDACTION_NEEDED = "redaction_needed"  # Art. 15(4)
    SEVERAL_REQUESTS = "several_requests"  # several requests from the same person
    EXCEPTIONAL_SURGE = "exceptional_surge"  # a temporary, exceptional surge (EDPB-A §§162-164)


class RefusalReason(StrEnum):
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"  # Art. 12(5)(b), R21
    MANIFESTLY_EXCESSIVE = "manifestly_excessive"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGAL_CLAIMS = "legal_claims"  # Art. 17(3)(e): kept for the establishment, exercise or defence of legal claims
    RIGHTS_OF_OTHERS = "rights_of_others"  # Art. 15(4)
    OTHER = "other"


class FeeBasis(StrEnum):
    """What a fee rests on: a further copy of the same data and period (Art. 15(3), R20), or a manifestly
    excessive request (Art. 12(5), R21)."""

    FURTHER_COPY = "further_copy"
    MANIFESTLY_EXCESSIVE = "manifestly_excessive"


class LiftReason(StrEnum):
    ACCURACY_VERIFIED = "accuracy_verified"
    OBJECTION_DECIDED = "objection_decided"
    LEGAL_CLAIMS_ENDED = "legal_claims_ended"
    PERSON_REQUEST = "person_request"


class _Decision(WireModel):
    by: str = Field(min_length=1, max_length=100, description="Who decided: a role or a staff login, not a name.")
    at: AwareDatetime


class Extend(_Decision):
    """R10: two further months, with reasons from the controlled list, decided and notified by D1."""

    kind: Literal["extend"] = "extend"
    reasons: list[ExtensionReason] = Field(min_length=1)
    explanation: str = Field(default="", max_length=2000)


class Refuse(_Decision):
    """R11: not acting, in whole or in part; the person is told why, with the CNIL and the courts."""

    kind: Literal["refuse"] = "refuse"
    reason: RefusalReason
    explanation: str = Field(min_length=1, max_length=2000)
    partial: bool = Field(default=False, description="The rest of the request goes on.")


class FlagExcessive(_Decision):
    """R20-R21: only a human flags, with facts; then a fee notice (amount, option to withdraw) or a refusal."""

    kind: Literal["flag_excessive"] = "flag_excessive"
    facts: str = Field(min_length=20, max_length=2000, description="The documented facts; the burden of proof is ours.")
    fee_cents: int | None = Field(default=None, gt=0, le=100_000, description="Fee asked; None means refuse.")
    basis: FeeBasis = Field(
        default=FeeBasis.MANIFESTLY_EXCESSIVE,
        description="further_copy: the same data for the same period again (access only, with a fee).",
    )
    previous_request_at: AwareDatetime | None = Field(
        default=None, description="The subject's previous request of the same right, as found by the pipeline."
    )


class VerifyId(_Decision):
    """L3: an ID document was checked and deleted; only 'ID checked on <date> by <role>' is kept (R16)."""

    kind: Literal["verify_id"] = "verify_id"


class RequestId(_Decision):
    """L3: ask for an ID document because the situation requires it (D2019 art. 77, R14)."""

    kind: Literal["request_id"] = "request_id"
    reason: Literal["challenge_failed", "no_channel_on_file", "sensitive_data"]


class Hold(_Decision):
    """R46: a legal hold, scoped to data, with a ground, an owner and a review date."""

    kind: Literal["hold"] = "hold"
    hold_id: str = Field(min_length=1, max_length=40)
    categories: list[str] = Field(min_length=1)
    ground: KeepGround = KeepGround.LEGAL_CLAIMS
    owner: str = Field(min_length=1, max_length=100)
    review_on: date


class Release(_Decision):
    """R46: releasing a hold purges whatever it kept."""

    kind: Literal["release"] = "release"
    hold_id: str


class DecideObjection(_Decision):
    """R29: a general objection (Art. 21(1)) upheld, or rejected on demonstrated compelling grounds."""

    kind: Literal["decide_objection"] = "decide_objection"
    upheld: bool
    explanation: str = Field(min_length=1, max_length=2000)


class LiftRestriction(_Decision):
    """Art. 18(3): the person is told first; the restriction is lifted on `lift_on`."""

    kind: Literal["lift_restriction"] = "lift_restriction"
    lift_on: date
    reason: LiftReason


class FeePaid(_Decision):
    kind: Literal["fee_paid"] = "fee_paid"


class Withdraw(_Decision):
    """The person withdrew the request (for instance after a fee notice)."""

    kind: Literal["withdraw"] = "withdraw"


class DecideEstateAccess(_Decision):
    """LIL 85-II, R39.3: what an heir obtains, limited to what settling the estate needs; a person decides.
    To give nothing, refuse (R11) with the reasons instead."""

    kind: Literal["decide_estate_access"] = "decide_estate_access"
    categories: list[str] = Field(
        min_length=1, description="Export categories the heir receives.", examples=[["invoices", "quote_requests"]]
    )
    explanation: str = Field(
        min_length=1, max_length=2000, description="Why these are needed to settle the estate; shown to the heir."
    )


class ApplyDirectives(_Decision):
    """R39: the directives on file were carried out by hand; then erase (or keep, if they say so)."""

    kind: Literal["apply_directives"] = "apply_directives"
    erase: bool = True
    explanation: str = Field(default="", max_length=2000)


Decision = Annotated[
    Extend
    | Refuse
    | FlagExcessive
    | VerifyId
    | RequestId
    | Hold
    | Release
    | DecideObjection
    | LiftRestriction
    | FeePaid
    | Withdraw
    | ApplyDirectives
    | DecideEstateAccess,
    Field(discriminator="kind"),
]
