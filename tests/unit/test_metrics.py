"""The case gauges of /metrics count what an operator reads off them: open cases by right and status, past the
internal target, past D1, awaiting the DPO or the person; closed cases count nowhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gdpr.case_state import CaseState, Status
from gdpr.deadlines import compute_deadline
from schemas.intake import Right
from streams.metrics import CaseGauges, PipelineMetrics, count_cases

pytestmark = pytest.mark.unit

# Received Monday 2 November 2026: internal target 25 November (R9), D1 2 December (R8).
RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
BEFORE_TARGET = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAST_TARGET = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PAST_D1 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def case(n: int, right: Right, status: Status, received: datetime = RECEIVED) -> CaseState:
    deadline = compute_deadline(received)
    return CaseState(
        request_id=f"00000000-0000-0000-0000-{n:012d}",
        subject_ref=f"subject-{n}",
        right=right,
        language="fr",
        received_at=received,
        d1=deadline.d1,
        deadline=deadline.d1,
        systems=("crm",),
        status=status,
    )


CASES = [
    case(1, Right.ERASURE, Status.PROCESSING),
    case(2, Right.ERASURE, Status.PROCESSING),
    case(3, Right.ACCESS, Status.AWAITING_VERIFICATION),
    case(4, Right.OBJECTION, Status.AWAITING_DECISION),
    case(5, Right.ERASURE, Status.CLOSED),  # answered: in no gauge, however late the clock
    case(6, Right.ACCESS, Status.PROCESSING, received=datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),  # a later one
]


def test_open_cases_are_counted_by_right_and_status_and_closed_ones_not_at_all():
    counts = count_cases(CASES, BEFORE_TARGET)
    assert dict(counts["open"]) == {
        ("erasure", "processing"): 2,
        ("access", "awaiting_verification"): 1,
        ("objection", "awaiting_decision"): 1,
        ("access", "processing"): 1,
    }
    assert dict(counts["flags"]) == {"past_target": 0, "past_deadline": 0, "awaiting_dpo": 1, "awaiting_person": 1}


def test_cases_pass_the_internal_target_then_d1_as_the_clock_moves():
    # The internal target passes on the 26th for the four open cases received on the 2nd; D1 on the 3rd of
    # December. The case received on the 26th is behind neither.
    assert count_cases(CASES, PAST_TARGET)["flags"]["past_target"] == 4
    assert count_cases(CASES, PAST_TARGET)["flags"]["past_deadline"] == 0
    assert count_cases(CASES, PAST_D1)["flags"]["past_target"] == 4
    assert count_cases(CASES, PAST_D1)["flags"]["past_deadline"] == 4
    # D1 ends at midnight in Paris (R8): 22:00 UTC on the 2nd is still within it, 23:30 UTC is not.
    assert count_cases(CASES, datetime(2026, 12, 2, 22, 0, tzinfo=UTC))["flags"]["past_deadline"] == 0
    assert count_cases(CASES, datetime(2026, 12, 2, 23, 30, tzinfo=UTC))["flags"]["past_deadline"] == 4


async def test_the_scraped_gauges_carry_the_counts():
    metrics = PipelineMetrics()
    metrics.collect_from(CaseGauges(lambda: iter(CASES), lambda: PAST_D1))
    body, _ = await metrics.exposition()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert samples[("dsr_open_cases", (("right", "erasure"), ("status", "processing")))] == 2
    assert samples[("dsr_open_cases", (("right", "access"), ("status", "awaiting_verification")))] == 1
    assert ("dsr_open_cases", (("right", "erasure"), ("status", "closed"))) not in samples
    assert samples[("dsr_cases_past_target", ())] == 4
    assert samples[("dsr_cases_past_deadline", ())] == 4
    assert samples[("dsr_cases_awaiting_dpo", ())] == 1
    assert samples[("dsr_cases_awaiting_person", ())] == 1
