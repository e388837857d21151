"""A hold the DPO places on a case reaches the store the retention sweep reads (R46), and leaves it when released:
the sweep never erases at its retention end what a case holds."""

from __future__ import annotations

from datetime import date

import pytest

from gdpr.sealing import subject_ref
from schemas.cases import DpoDecided
from schemas.decisions import Hold, Release
from streams import topics
from tests.streams.bus import SECRET, Bus
from tests.streams.test_flow import CAMILLE, confirm
from tests.streams.test_mail_retries import request_from

pytestmark = pytest.mark.streams


async def decide(bus: Bus, request_id: str, decision) -> None:
    event = DpoDecided(request_id=request_id, decision=decision)
    await bus.publish(topics.CASES, request_id, event.to_bytes())
    await bus.drain()


async def test_a_case_hold_is_shared_with_the_sweep_until_released():
    bus = Bus()
    await bus.submit(request_from(CAMILLE))
    (request_id,) = list(bus.cases)
    hold = Hold(
        by="dpo", at=bus.clock(), hold_id="dispute", categories=["quote_requests"], owner="legal",
        review_on=date(2027, 6, 30),
    )  # fmt: skip
    await decide(bus, request_id, hold)
    ((ref, held),) = bus.ctx.case_holds.all()
    assert ref == subject_ref(SECRET, CAMILLE) and held.hold_id == "dispute" and held.categories == ["quote_requests"]
    await confirm(bus, CAMILLE)  # the erasure runs and the case closes: the hold stays while it is not released
    assert [h.hold_id for _, h in bus.ctx.case_holds.all()] == ["dispute"]
    await decide(bus, request_id, Release(by="dpo", at=bus.clock(), hold_id="dispute"))
    assert bus.ctx.case_holds.all() == []
