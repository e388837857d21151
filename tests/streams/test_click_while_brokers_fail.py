"""A confirmation click while the brokers fail (a broker lost, a leader moving, the producer stopping): 503 with
Retry-After, never 500; the person's retry confirms the case, once, even when the unacknowledged try was stored."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaTimeoutError, NotEnoughReplicasError, ProducerClosed
from faust.exceptions import ProducerSendError

from streams.app import FaustPublisher
from tests.streams.bus import Bus
from tests.streams.test_routes import client, confirmations, listeners, verification_token

pytestmark = pytest.mark.streams


class FailingBrokers:
    """A faust app over brokers that fail the next `failures` sends, as during a broker's loss: either the send is
    refused outright (`at_send`), or the message is stored but its acknowledgement never comes (`stored_anyway`)."""

    def __init__(self, bus: Bus, failures: int, error: Exception, stored_anyway: bool, at_send: bool) -> None:
        self.bus, self.failures, self.error = bus, failures, error
        self.stored_anyway, self.at_send = stored_anyway, at_send

    def topic(self, name: str, **options):
        return SimpleNamespace(send=functools.partial(self.send, name))

    async def send(self, name: str, key: bytes, value: bytes, headers=None) -> asyncio.Future:
        acked: asyncio.Future = asyncio.get_running_loop().create_future()
        failing, self.failures = self.failures > 0, self.failures - 1
        if failing and self.at_send:
            raise ProducerSendError(f"Error while sending: {self.error!r}") from self.error
        if not failing or self.stored_anyway:
            await self.bus.publish(name, key.decode(), value, dict(headers or ()))
        acked.set_exception(self.error) if failing else acked.set_result(None)
        return acked


async def click_until_confirmed(bus: Bus, token: str) -> list[tuple[int, str | None]]:
    """(status, Retry-After) of each POST until a 200, as a person reloading the page after a 503."""
    answers: list[tuple[int, str | None]] = []
    async with client(listeners(bus)["public"]) as http:
        while not answers or answers[-1][0] == 503:
            response = await http.post(f"/verify/{token}")
            answers.append((response.status, response.headers.get("Retry-After")))
            assert len(answers) <= 5, answers
    await bus.drain()
    return answers


FAILURES = [
    pytest.param(KafkaTimeoutError(), True, False, id="stored-but-unacknowledged"),
    pytest.param(NotEnoughReplicasError(), False, False, id="refused-by-the-brokers"),
    pytest.param(KafkaTimeoutError(), False, True, id="no-metadata-at-send"),
    pytest.param(ProducerClosed(), False, True, id="producer-stopping"),
]


@pytest.mark.parametrize(("error", "stored_anyway", "at_send"), FAILURES)
async def test_a_click_the_brokers_do_not_take_answers_503_and_its_retry_confirms_once(error, stored_anyway, at_send):
    clean = Bus()
    await click_until_confirmed(clean, await verification_token(clean))
    bus = Bus()
    token = await verification_token(bus)
    bus.ctx.publisher = FaustPublisher(FailingBrokers(bus, 2, error, stored_anyway, at_send))
    answers = await click_until_confirmed(bus, token)
    assert [status for status, _ in answers] == [503, 503, 200]  # told to retry, never 500
    assert all(int(retry) >= 1 for status, retry in answers if status == 503)
    assert len(confirmations(bus)) == (3 if stored_anyway else 1)  # what the brokers hold
    assert Counter(a.kind for a in bus.audits()) == Counter(a.kind for a in clean.audits())  # counted once
