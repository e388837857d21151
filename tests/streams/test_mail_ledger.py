"""Two workers and one e-mail: after a crash or a rebalance the copy redelivered to the other worker is not sent
again, whether the first worker sent it (the shared ledger says so before its table does) or is sending it right
now (the copy waits its turn); a worker that died mid-send loses nothing, its claim lapses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mail.ledger import MemorySentLedger
from schemas.cases import EmailSent, parse_case_event
from schemas.notifications import EmailRequested
from streams import topics
from tests.streams.test_flow import CAMILLE, confirm
from tests.streams.test_mail_retries import bus_with_relay, kinds, request_from, wait

pytestmark = pytest.mark.streams


def requested(bus) -> list[EmailRequested]:
    return [EmailRequested.model_validate_json(v) for v in bus.on(topics.NOTIFICATIONS)]


def told_the_case(bus) -> list[str]:
    """Message ids of the EmailSent events the cases got."""
    events = [parse_case_event(v) for v in bus.on(topics.CASES)]
    return [e.message_id for e in events if isinstance(e, EmailSent)]


async def test_a_copy_redelivered_to_a_worker_whose_table_never_heard_of_it_is_not_sent_again():
    bus, relay = bus_with_relay()
    await bus.submit(request_from(CAMILLE))
    assert len(relay.sent) == 2  # her receipt and her confirmation link
    bus.sent.clear()  # the new owner of the partition: the first worker's table writes never reached it
    for request in requested(bus):
        await bus.publish(topics.NOTIFICATIONS, request.request_id, request.to_bytes())
    await bus.drain()
    assert len(relay.sent) == 2
    assert bus.retries == {}


async def test_a_copy_another_worker_is_sending_waits_and_is_then_known_as_sent():
    bus, relay = bus_with_relay()
    relay.down = True
    await bus.submit(request_from(CAMILLE))
    waiting = requested(bus)
    assert len(bus.retries) == 2
    ledger = bus.ctx.sent_ledger = MemorySentLedger(lease=timedelta(hours=1))  # outlasts the first retry's wait
    for request in waiting:  # meanwhile a worker that got the same copies is sending them
        assert ledger.claim(request.message_id, request.request_id, bus.clock()).value == "send"
    relay.down = False
    await wait(bus, minutes=5)
    assert relay.sent == [] and len(bus.retries) == 2  # held by the other worker: not sent, still waiting
    for request in waiting:
        ledger.mark_sent(request.message_id, bus.clock())
    await wait(bus, minutes=15)
    assert relay.sent == [] and bus.retries == {}  # the other worker sent them: done here too
    assert sorted(told_the_case(bus)) == sorted(r.message_id for r in waiting)


async def test_a_worker_that_died_mid_send_loses_nothing_its_claim_lapses():
    bus, relay = bus_with_relay()
    relay.down = True
    await bus.submit(request_from(CAMILLE))
    ledger = bus.ctx.sent_ledger
    for request in requested(bus):  # claimed by a worker killed before the SMTP server answered
        ledger.claim(request.message_id, request.request_id, bus.clock())
    relay.down = False
    for _ in range(6):
        await wait(bus, minutes=5)
    assert [m["To"] for m in relay.sent] == [CAMILLE, CAMILLE] and bus.retries == {}
    assert "email_parked" not in kinds(bus)


async def test_a_copy_redelivered_after_the_erasure_destroyed_the_key_is_known_as_sent_not_dead_lettered():
    bus, relay = bus_with_relay()
    await bus.submit(request_from(CAMILLE))
    await confirm(bus, CAMILLE)  # erased: the outcome went out, then her key was destroyed
    sent = len(relay.sent)
    bus.sent.clear()  # another worker's table, which never heard of those e-mails
    for request in requested(bus):
        await bus.publish(topics.NOTIFICATIONS, request.request_id, request.to_bytes())
    await bus.drain()
    assert len(relay.sent) == sent
    assert bus.on(topics.dlq(topics.NOTIFICATIONS)) == []


async def test_a_copy_of_an_email_sent_before_the_worker_died_tells_the_case_again_so_the_key_can_go():
    # The worker sent her receipt and recorded it, then died before telling the case; the case keeps her key
    # while it believes the receipt is on its way. The copy redelivered to the new owner tells it, once sent.
    bus, relay = bus_with_relay()
    await bus.submit(request_from(CAMILLE))
    receipt = requested(bus)[0]
    before = told_the_case(bus).count(receipt.message_id)
    await bus.publish(topics.NOTIFICATIONS, receipt.request_id, receipt.to_bytes())
    await bus.drain()
    assert len(relay.sent) == 2 and told_the_case(bus).count(receipt.message_id) == before + 1
