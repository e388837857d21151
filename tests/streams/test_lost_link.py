"""A verification link lost on the way to the mailer (a rebalance may commit past it) is asked again by its case
after DSR_TASK_RESEND_MINUTES: the person gets it and confirms; a link that went out is never sent twice."""

from __future__ import annotations

import json

import pytest

from streams import topics
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body, example, raw

pytestmark = pytest.mark.streams


def links(bus: Bus) -> list:
    return [m for m in bus.emails_to(CAMILLE) if "verify/" in body(m)]


async def test_a_lost_verification_link_is_sent_again_once_and_a_sent_one_never():
    bus, lost = Bus(), []
    publish = bus.publish

    async def losing_the_first_link(topic, key, value, headers=None):
        if topic == topics.NOTIFICATIONS and json.loads(value)["message_type"] == "verification" and not lost:
            lost.append(value)  # in the topic, never read by the mailer
            return
        await publish(topic, key, value, headers)

    bus.publish = losing_the_first_link
    bus.ctx.publisher = bus
    await bus.submit(raw(example("dsr.rights.requested")))
    assert lost and links(bus) == []
    bus.clock.advance(minutes=29)
    await bus.tick()
    assert links(bus) == []
    bus.clock.advance(minutes=1)
    await bus.tick()
    assert len(links(bus)) == 1
    assert json.loads(lost[0])["message_id"] == json.loads(bus.on(topics.NOTIFICATIONS)[-1])["message_id"]
    bus.clock.advance(minutes=60)
    await bus.tick()
    assert len(links(bus)) == 1  # recorded as sent: never again
