"""An e-mail the case asked for and never heard of again (its request, or the mailer's answer, lost on the way: a
broker lost, a rebalance) no longer holds the person's key until DSR_MAIL_RETRY_HOURS + 1 h: after
DSR_TASK_RESEND_MINUTES the case asks the mailer, which answers from its records."""

from __future__ import annotations

import json

import pytest

from schemas.cases import parse_case_event
from schemas.notifications import EmailFollowedUp
from streams import topics
from streams.agenda import parsed
from streams.notifications import on_mailer_command
from tests.streams.bus import Bus
from tests.streams.test_flow import audits, confirm, example, raw

pytestmark = pytest.mark.streams

NOBODY = "nobody@example.test"  # no system knows them: answered "no data", then nothing needs the key


def nobody_asks() -> bytes:
    identities = [{"identity_type": "email", "identity_value": NOBODY}]
    return raw(example("dsr.rights.requested", data={"subject_identities": identities}))


def losing(bus: Bus, drop) -> list:
    """Messages `drop` picks are written to their topic and never read (faust committed past them)."""
    lost, publish = [], bus.publish

    async def publish_losing(topic, key, value, headers=None):
        if not lost and drop(topic, json.loads(value)):
            lost.append(value)
            return
        await publish(topic, key, value, headers)

    bus.publish = publish_losing
    bus.ctx.publisher = bus
    return lost


def case_of(bus: Bus):
    return parsed(next(iter(bus.cases.values())))


async def answered_without_news_of_the_receipt(bus: Bus) -> str:
    await bus.submit(nobody_asks())
    await confirm(bus, NOBODY)
    state = case_of(bus)
    assert state.status == "closed" and "receipt" not in state.emails_sent and len(state.mail_out) == 1
    ref = bus.ctx.sealer.ref(NOBODY)
    assert bus.ctx.vault.get(ref) is not None  # the receipt may still need it
    return ref


async def test_a_receipt_whose_request_was_lost_lets_the_key_go_after_the_case_asks():
    bus = Bus()
    lost = losing(bus, lambda topic, value: topic == topics.NOTIFICATIONS and value.get("message_type") == "receipt")
    ref = await answered_without_news_of_the_receipt(bus)
    assert lost and not any("receipt" in str(m["Subject"]).lower() for m in bus.emails_to(NOBODY))
    bus.clock.advance(minutes=29)
    await bus.tick()
    assert bus.ctx.vault.get(ref) is not None
    bus.clock.advance(minutes=1)  # DSR_TASK_RESEND_MINUTES: the case asks the mailer, which never had it
    await bus.tick()
    assert "receipt" in case_of(bus).emails_parked and case_of(bus).mail_out == {}
    assert "email_lost" in [a.kind for a in audits(bus)]
    assert bus.ctx.vault.get(ref) is None  # erased: nothing needs the key any more


async def test_a_receipt_sent_but_never_reported_is_reported_again_and_the_key_goes():
    bus = Bus()
    lost = losing(bus, lambda topic, value: topic == topics.CASES and value.get("message_type") == "receipt")
    ref = await answered_without_news_of_the_receipt(bus)
    assert lost and parse_case_event(lost[0]).kind == "email_sent"
    bus.clock.advance(minutes=30)
    await bus.tick()
    assert "receipt" in case_of(bus).emails_sent and case_of(bus).emails_parked == frozenset()
    assert bus.ctx.vault.get(ref) is None
    assert [a.message_type for a in audits(bus) if a.kind == "email_sent"].count("receipt") == 1


async def test_a_receipt_lost_while_the_case_is_open_is_sent_again_the_very_same():
    bus = Bus()
    lost = losing(bus, lambda topic, value: topic == topics.NOTIFICATIONS and value.get("message_type") == "receipt")
    await bus.submit(nobody_asks())  # the person has not clicked yet: the case waits for them, open
    assert lost and case_of(bus).status == "awaiting_verification" and len(bus.emails_to(NOBODY)) == 1
    bus.clock.advance(minutes=30)
    await bus.tick()
    assert "receipt" in case_of(bus).emails_sent and len(bus.emails_to(NOBODY)) == 2
    assert bus.emails_to(NOBODY)[-1]["Message-ID"] == f"<{json.loads(lost[0])['message_id']}@dsr-pipeline>"
    bus.clock.advance(minutes=60)
    await bus.tick()
    assert len(bus.emails_to(NOBODY)) == 2  # reported sent: never again


async def test_an_email_waiting_for_its_retry_is_left_to_the_retry():
    bus = Bus()
    asked = EmailFollowedUp(request_id="r-1", message_id="m-1", message_type="receipt", recipient="subject")
    bus.retries["m-1"] = b"waiting"  # deferred by the relay: its retry will tell the case
    await on_mailer_command(bus.ctx, bus.sent, bus.retries, asked.to_bytes())
    assert bus.on(topics.CASES) == []
    del bus.retries["m-1"]  # nothing here at all: it never reached the mailer
    await on_mailer_command(bus.ctx, bus.sent, bus.retries, asked.to_bytes())
    assert [parse_case_event(v).kind for v in bus.on(topics.CASES)] == ["email_parked"]
