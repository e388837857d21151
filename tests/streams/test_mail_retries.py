"""A relay that refuses for a while: transient failures wait in the mailer's retry table with capped backoff, the
clock sends them back when due, nothing waits behind them, and only what outlives the budget is parked."""

from __future__ import annotations

import uuid

import pytest

from mail.transport import MemoryMailTransport, TransientMailError
from schemas.notifications import EmailRequested
from streams import topics
from streams.notifications import send_due_retries
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, audits, example, raw

pytestmark = pytest.mark.streams

DPO = "dpo@example.test"
OTHER = "jean.martin@example.test"


class Relay(MemoryMailTransport):
    """An SMTP relay that can be down (every send refused, as a closed port is) or greylist some addresses."""

    def __init__(self, clock) -> None:
        super().__init__()
        self.down = False
        self.greylisted: set[str] = set()
        self.attempts: list[tuple[str, object]] = []  # (To, when) of every attempt
        self._clock = clock

    async def send(self, message) -> None:
        self.attempts.append((message["To"], self._clock()))
        if self.down:
            raise TransientMailError("ConnectionRefusedError: cannot reach the SMTP server")
        if message["To"] in self.greylisted:
            raise TransientMailError(f"451 4.7.1 greylisted <{message['To']}>, try again later")
        await super().send(message)


def bus_with_relay() -> tuple[Bus, Relay]:
    bus = Bus()
    relay = Relay(bus.clock)
    bus.mail = bus.ctx.transport = relay
    return bus, relay


def request_from(address: str) -> bytes:
    data = {"subject_identities": [{"identity_type": "email", "identity_value": address, "identity_format": "raw"}]}
    return raw(example("dsr.rights.requested", id=str(uuid.uuid4()), data=data))


async def wait(bus: Bus, **delta) -> None:
    bus.clock.advance(**delta)
    await bus.tick()


def parked_counts(bus: Bus) -> dict[str, float]:
    """dsr_emails_parked_total by message type, as /metrics shows it."""
    return {
        sample.labels["message_type"]: sample.value
        for family in bus.ctx.metrics.registry.collect()
        if family.name == "dsr_emails_parked"
        for sample in family.samples
        if sample.name == "dsr_emails_parked_total"
    }


def kinds(bus: Bus) -> list[str]:
    return [a.kind for a in audits(bus)]


async def test_an_outage_of_hours_needs_no_human_every_email_arrives_once_afterwards():
    bus, relay = bus_with_relay()
    relay.down = True
    await bus.submit(request_from(CAMILLE))  # her receipt and her confirmation link both wait
    assert relay.sent == [] and len(bus.retries) == 2
    assert kinds(bus).count("email_deferred") == 2
    for _ in range(6 * 12):  # six hours, the clock every five minutes
        await wait(bus, minutes=5)
    receipt_tries = [when for to, when in relay.attempts if to == CAMILLE][::2]
    pauses = [round((b - a).total_seconds()) for a, b in zip(receipt_tries, receipt_tries[1:], strict=False)]
    assert pauses[0] == 300 and max(pauses) <= 900 + 300  # capped at 15 min, seen through a 5 min clock
    relay.down = False
    await wait(bus, minutes=15)
    assert [m["To"] for m in relay.sent] == [CAMILLE, CAMILLE]
    assert bus.retries == {} and bus.on(topics.NOTIFICATIONS_PARKED) == []
    assert "email_parked" not in kinds(bus) and not bus.emails_to(DPO) and parked_counts(bus) == {}
    await wait(bus, hours=1)
    assert len(relay.sent) == 2  # the sent-e-mail record: never twice


async def test_one_waiting_email_holds_up_no_other():
    bus, relay = bus_with_relay()
    relay.greylisted.add(CAMILLE)
    await bus.submit(request_from(CAMILLE))
    await bus.submit(request_from(OTHER))  # no clock moved: nothing waits behind her e-mails
    assert [m["To"] for m in relay.sent] == [OTHER, OTHER]
    relay.greylisted.clear()
    await wait(bus, seconds=30)
    assert [m["To"] for m in relay.sent].count(CAMILLE) == 2


async def test_copies_and_replays_of_a_waiting_email_neither_jump_the_queue_nor_count_as_failures():
    bus, relay = bus_with_relay()
    relay.down = True
    await bus.submit(request_from(CAMILLE))
    receipt = next(EmailRequested.model_validate_json(v) for v in bus.on(topics.NOTIFICATIONS))
    await bus.publish(topics.NOTIFICATIONS, receipt.request_id, receipt.to_bytes())  # the coordinator replays it
    await bus.drain()
    assert len(relay.attempts) == 2  # not tried again before its time
    bus.clock.advance(seconds=30)
    bus.turns_sent.clear()  # a restarted worker's clock sends the same turn again
    await bus.tick()
    bus.turns_sent.clear()
    await bus.tick()
    assert len(relay.attempts) == 4  # each waiting e-mail tried once for its turn, duplicates dropped


async def test_what_outlives_the_budget_is_parked_once_and_the_dpo_told():
    bus, relay = bus_with_relay()
    relay.greylisted.add(CAMILLE)
    await bus.submit(request_from(CAMILLE))
    for _ in range(50):
        await wait(bus, hours=1)
    assert len(bus.on(topics.NOTIFICATIONS_PARKED)) == 2 and bus.retries == {}
    parked = [a for a in audits(bus) if a.kind == "email_parked"]
    assert all("48 h of retries" in a.detail["reason"] and "camille" not in a.detail["reason"] for a in parked)
    assert all(a.detail["attempts"] > 10 for a in parked)
    assert len(bus.emails_to(DPO)) == 2  # one notice per parked e-mail
    assert parked_counts(bus) == {"receipt": 1, "verification": 1}  # /metrics: dsr_emails_parked_total
    tries = len(relay.attempts)
    await wait(bus, hours=5)
    assert len(relay.attempts) == tries  # parked: no more automatic retries


async def test_a_retry_lost_on_its_way_to_the_mailer_is_sent_again_by_the_clock():
    bus, relay = bus_with_relay()
    relay.down = True
    await bus.submit(request_from(CAMILLE))
    assert len(relay.attempts) == 2 and bus.retries  # the receipt and the verification link wait for the relay
    relay.down = False
    bus.clock.advance(seconds=30)
    await send_due_retries(bus.ctx, bus.retries, bus.clock(), bus.turns_sent)
    bus.queue.clear()  # the clock's copies were written to the topic and never read (faust committed past them)
    await wait(bus, minutes=1)
    assert len(relay.attempts) == 2  # their turn was sent: the clock waits for the mailer
    await wait(bus, minutes=5)
    assert len(relay.attempts) == 4 and not bus.retries  # sent again, taken, and gone from the retry table
