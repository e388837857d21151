"""The person's key outlives the outcome e-mail until every Art. 19 notice that needs it has been answered (R35)."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest

from gdpr.lifecycle import CasePolicy
from handlers.memory import MemoryInbox
from handlers.runtime import run_task
from streams import topics
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, audits, confirm, example, raw

pytestmark = pytest.mark.streams

RECIPIENT = "telephony"


def bus_with_a_slow_recipient() -> Bus:
    """The CRM passes data to a recipient whose consumer is behind: its notices wait on its topic."""
    bus = Bus()
    policy = CasePolicy(recipients_by_system={"crm": (RECIPIENT,)})
    bus.ctx.config = replace(bus.ctx.config, policy=policy)
    return bus


def recipient_catches_up(bus: Bus) -> MemoryInbox:
    inbox = MemoryInbox(RECIPIENT)
    ctx = bus.ctx
    bus.ctx.task_runners[RECIPIENT] = functools.partial(
        run_task, inbox, open_sealed=ctx.sealer.open, seal=ctx.sealer.seal_existing, backoff=0.0
    )
    for value in bus.on(topics.tasks(RECIPIENT)):
        bus.queue.append((topics.tasks(RECIPIENT), None, value, {}))
    return inbox


async def erased_while_the_notice_waits(bus: Bus) -> str:
    await bus.submit(raw(example("dsr.form.quote_requested")))
    await bus.submit(raw(example("dsr.rights.requested")))
    await confirm(bus, CAMILLE)
    assert "outcome_erasure" in [a.message_type for a in audits(bus) if a.kind == "email_sent"]
    assert len(bus.on(topics.tasks(RECIPIENT))) == 1  # the notice went out before the outcome, still unread
    return bus.ctx.sealer.ref(CAMILLE)


async def test_the_key_waits_for_the_recipients_answer_then_goes():
    bus = bus_with_a_slow_recipient()
    ref = await erased_while_the_notice_waits(bus)
    assert bus.ctx.vault.get(ref) is not None and "key_destroyed" not in [a.kind for a in audits(bus)]
    inbox = recipient_catches_up(bus)
    await bus.drain()
    assert len(inbox.notices()) == 1  # Art. 19: the recipient heard of the erasure
    kinds = [a.kind for a in audits(bus)]
    assert "task_failed" not in kinds and bus.on(topics.dlq(topics.tasks(RECIPIENT))) == []
    assert not any(m["To"] == "dpo@example.test" for m in bus.mail.sent)  # no false alarm
    assert "key_destroyed" in kinds and bus.ctx.vault.get(ref) is None


async def test_a_recipient_silent_past_the_timeout_lets_the_key_go_and_the_dpo_is_told():
    bus = bus_with_a_slow_recipient()
    ref = await erased_while_the_notice_waits(bus)
    bus.clock.advance(hours=3)
    await bus.tick()
    assert bus.ctx.vault.get(ref) is not None
    bus.clock.advance(hours=2)  # past DSR_TASK_TIMEOUT_HOURS (4)
    await bus.tick()
    kinds = [a.kind for a in audits(bus)]
    assert "task_overdue" in kinds and "key_destroyed" in kinds and bus.ctx.vault.get(ref) is None
    assert any(m["To"] == "dpo@example.test" for m in bus.mail.sent)
