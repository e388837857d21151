"""What /metrics says about messages nobody processed: the dead-letter topics' sizes, as the broker counts
them, for every topic the pipeline and its systems dead-letter to."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dsr.composition import _measure_dead_letters
from streams import topics
from streams.app import dlq_topics
from tests.streams.bus import Bus

pytestmark = pytest.mark.streams


def dead_letter_samples(body: bytes) -> dict[str, float]:
    return {
        sample.labels["topic"]: sample.value
        for family in text_string_to_metric_families(body.decode())
        if family.name == "dsr_dead_letter_messages"
        for sample in family.samples
    }


class Broker:
    """The sizes the broker reports; an existing topic only for what is in `held`."""

    def __init__(self, held: dict[str, int]) -> None:
        self.held = held
        self.asked: list[list[str]] = []

    async def __call__(self, names: list[str]) -> dict[str, int]:
        self.asked.append(names)
        return {name: self.held.get(name, 0) for name in names}


async def test_each_dead_letter_topic_shows_the_messages_it_holds():
    bus = Bus()
    broker = Broker({topics.dlq(topics.INTAKE): 3, topics.dlq(topics.tasks("crm")): 1})
    _measure_dead_letters(bus.ctx, broker)
    body, _ = await bus.ctx.metrics.exposition()
    samples = dead_letter_samples(body)
    assert samples[topics.dlq(topics.INTAKE)] == 3
    assert samples[topics.dlq(topics.tasks("crm"))] == 1
    assert samples[topics.dlq(topics.CASES)] == 0  # an empty (or not yet created) topic shows 0, not nothing
    # Every dead-letter topic the console lists, the pipeline's four and one per system and recipient, and no other.
    assert set(samples) == set(dlq_topics(bus.ctx)) == set(broker.asked[0])
    assert topics.dlq(topics.tasks("recruitment")) in samples and topics.dlq(topics.tasks("mailchimp")) in samples


async def test_a_broker_that_does_not_answer_fails_no_scrape():
    bus = Bus()

    async def unreachable(names: list[str]) -> dict[str, int]:
        raise ConnectionError("no broker")

    _measure_dead_letters(bus.ctx, unreachable)
    body, _ = await bus.ctx.metrics.exposition()
    assert set(dead_letter_samples(body).values()) == {0}
