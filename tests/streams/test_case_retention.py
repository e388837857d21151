"""R51 on the pipeline's own records, on the in-memory bus: purged on time, and a clock that skips closed cases."""

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from gdpr.lifecycle import Status
from schemas.audit import AuditRecord
from streams.agenda import Agenda, parsed
from tests.streams.bus import Bus
from tests.streams.test_flow import confirm, example, raw

pytestmark = pytest.mark.streams

CAMILLE = "camille.durand@example.test"
DOMINIQUE = "dominique.martin@example.test"
RETENTION = timedelta(days=1826)  # DSR_CASE_RETENTION_DAYS unset


def erasure_request(bus: Bus, address: str) -> bytes:
    identity = {"identity_type": "email", "identity_value": address, "identity_format": "raw"}
    changes = {"subject_identities": [identity], "subject_name": "Une Personne"}
    return raw(example("dsr.rights.requested", id=str(uuid.uuid4()), time=bus.clock().isoformat(), data=changes))


async def closed_case(bus: Bus, address: str) -> str:
    """A person asks for erasure, confirms, gets the outcome: the case closes now."""
    before = set(bus.cases)
    await bus.submit(erasure_request(bus, address))
    await confirm(bus, address)
    (request_id,) = set(bus.cases) - before
    assert parsed(bus.cases[request_id]).status == Status.CLOSED
    return request_id


def audits(bus: Bus, kind: str) -> list[AuditRecord]:
    return [r for r in bus.audits() if r.kind == kind]


def examined(bus: Bus) -> float:
    return bus.ctx.metrics.registry.get_sample_value("dsr_clock_cases_examined_total")


async def test_a_case_closed_longer_than_the_retention_goes_with_its_sent_emails_and_a_younger_one_stays():
    bus = Bus()
    old = await closed_case(bus, CAMILLE)
    closed_at = parsed(bus.cases[old]).closed_at
    bus.clock.advance(days=200)
    young = await closed_case(bus, DOMINIQUE)
    assert json.loads(bus.sent[old]) and json.loads(bus.sent[young])  # the mailer's record of what each was sent
    # A day before the fifth anniversary of the first closure, both are kept.
    bus.clock.advance(days=RETENTION.days - 200 - 1)
    await bus.tick()
    assert old in bus.cases and young in bus.cases
    # On the day, the first case goes, with the mailer's record of its e-mails; the younger one stays.
    bus.clock.advance(days=1)
    await bus.tick()
    assert old not in bus.cases and old not in bus.sent
    assert young in bus.cases and young in bus.sent
    assert await bus.directory.find(old) is None
    assert bus.ctx.exports.package(old) is None and bus.ctx.documents.get(old) is None
    # The audit keeps that it went, when it had closed, and nothing about the person.
    (purged,) = audits(bus, "case_purged")
    assert purged.request_id == old and purged.subject_ref is None
    assert purged.detail == {"closed_at": closed_at.isoformat(), "retention_days": 1826}
    (forgotten,) = audits(bus, "sent_emails_forgotten")
    assert forgotten.request_id == old and forgotten.detail["emails"] >= 3
    assert CAMILLE.encode() not in purged.to_bytes() + forgotten.to_bytes()


async def test_the_clock_reads_the_same_number_of_cases_whatever_the_closed_ones_waiting_for_their_purge():
    # One open case (waiting for its confirmation) and one closed case; then 500 more closed cases.
    bus = Bus()
    closed = await closed_case(bus, CAMILLE)
    await bus.submit(erasure_request(bus, DOMINIQUE))
    await bus.tick()
    baseline = examined(bus)
    await bus.tick()
    per_tick = examined(bus) - baseline
    assert per_tick == 1  # the open case only: the closed one waits for its purge date
    state = parsed(bus.cases[closed])
    for _ in range(500):
        request_id = str(uuid.uuid4())
        bus.cases[request_id] = state.model_copy(update={"request_id": request_id}).to_bytes()
    before = examined(bus)
    await bus.tick()
    assert examined(bus) - before == per_tick
    # The open case still gets what is due to it: its verification reminder once the time comes.
    bus.clock.advance(days=15)
    sent_before = len(bus.mail.sent)
    await bus.tick()
    assert len(bus.mail.sent) > sent_before and examined(bus) - before == 2 * per_tick


async def test_a_worker_rebuilding_its_cases_from_the_changelog_rebuilds_the_clocks_agenda():
    # A closed case comes back from the changelog on a restarted worker, then its tombstone: the agenda follows.
    bus = Bus()
    closed = await closed_case(bus, CAMILLE)
    raw_state = bus.cases[closed]
    agenda = Agenda(bus.ctx.config.policy)
    await agenda.recovered(SimpleNamespace(key=closed, value=raw_state))
    purge_date = parsed(raw_state).closed_at + RETENTION
    assert agenda.due(purge_date - timedelta(seconds=1)) == [] and agenda.due(purge_date) == [closed]
    await agenda.recovered(SimpleNamespace(key=closed.encode(), value=None))
    assert agenda.due(purge_date) == [] and len(agenda) == 0
