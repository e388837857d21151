"""The keys the retention sweep and the re-contact create live as long as their tasks or links, then go; a key a case
uses stays the case's (privacy: a person's key is destroyed once they are erased, never under a case's feet)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from dsr.register import load_register
from dsr.retention import RetentionStore, Sweep, run_sweep
from gdpr.recontact import expires_at
from gdpr.sweep import Due, make_plan
from schemas.tasks import TaskResult
from streams import topics
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, example, raw
from tests.streams.test_keep_page import INES, emailed_link
from tests.streams.test_routes import client, listeners

pytestmark = pytest.mark.streams

LEA = "lea.sweep@example.test"


class BusSink:
    """`dsr retention run`'s sink, publishing on the bus the worker reads."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def task(self, task):
        self._put(topics.tasks(task.system), task.subject_ref, task.to_bytes())

    def audit(self, record):
        self._put(topics.AUDIT, record.request_id, record.to_bytes())

    def notify(self, request):
        pass  # the DPO's report: not what these tests look at

    def flush(self):
        pass

    def _put(self, topic, key, value):
        self.bus.log.append((topic, key, value, {}))
        self.bus.queue.append((topic, key, value, {}))


def sweep(bus: Bus, tmp_path: Path, *emails: str, systems=("crm", "newsletter")) -> None:
    """The day's sweep asks each system to erase each person, sealing them with the worker's own vault."""
    sealer, today = bus.ctx.sealer, bus.clock().date()
    refs = {sealer.ref(email): email for email in emails}
    due = [Due(s, ref, "person", "crm_contact", "delete", date(2026, 1, 1)) for ref in refs for s in systems]
    plan = make_plan(today, due)

    def seal(ref, value, system, lease):
        return sealer.seal(ref, value, audience=system, lease=lease)

    run = Sweep(plan, refs, load_register(), seal=seal, clock=bus.clock, key_lease=timedelta(hours=4))
    run_sweep(run, BusSink(bus), RetentionStore(tmp_path / "retention"))


def destroyed(bus: Bus) -> list[str]:
    return [a.subject_ref for a in bus.audits() if a.kind == "key_destroyed"]


async def test_a_key_the_sweep_created_goes_once_every_system_answered(tmp_path):
    bus = Bus()
    ref = bus.ctx.sealer.ref(LEA)
    newsletter = bus.ctx.task_runners.pop("newsletter")  # the newsletter's consumer is behind
    sweep(bus, tmp_path, LEA)
    await bus.drain()
    # The CRM answered, the newsletter has not read its task yet: it still needs the key to open it.
    assert bus.ctx.vault.get(ref) is not None and destroyed(bus) == []
    bus.ctx.task_runners["newsletter"] = newsletter
    for value in bus.on(topics.tasks("newsletter")):
        bus.queue.append((topics.tasks("newsletter"), ref, value, {}))
    await bus.drain()
    assert bus.ctx.vault.get(ref) is None and destroyed(bus) == [ref]  # recorded, for a restored vault


async def test_a_key_shared_with_an_open_case_stays(tmp_path):
    # Camille asked for erasure and has not confirmed yet: her case holds her key. The sweep erases her data that
    # reached their end meanwhile; its answers leave the key to the case, which still has to write to her.
    bus = Bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    ref = bus.ctx.sealer.ref(CAMILLE)
    key = bus.ctx.vault.get(ref)
    sweep(bus, tmp_path, CAMILLE)
    await bus.drain()
    assert bus.ctx.vault.get(ref) == key and destroyed(bus) == []


async def test_a_key_the_sweep_created_then_a_case_took_up_stays(tmp_path):
    # Léa's key was made for the sweep's tasks; before they are answered she writes in: her case uses that key.
    bus = Bus()
    sweep(bus, tmp_path, LEA)
    identity = {"identity_type": "email", "identity_value": LEA, "identity_format": "raw"}
    await bus.submit(raw(example("dsr.rights.requested", data={"subject_identities": [identity]})))
    ref = bus.ctx.sealer.ref(LEA)
    answers = [TaskResult.model_validate_json(v) for v in bus.on(topics.TASK_RESULTS)]
    assert len([a for a in answers if a.subject_request_id.startswith("retention-")]) == 2  # both answered the sweep
    assert bus.ctx.vault.get(ref) is not None and destroyed(bus) == []


async def test_a_re_contact_key_lives_as_long_as_the_link_then_goes():
    bus = Bus()
    token, ask = await emailed_link(bus)
    assert bus.ctx.vault.get(ask.subject_ref) is not None  # the link needs it: Ines has ten days to answer
    async with client(listeners(bus)["public"]) as http:
        assert (await http.post(f"/keep/{token}")).status == 200
        await bus.drain()  # the CRM recorded her yes
        assert (await http.post(f"/keep/{token}")).status == 200  # a second click: the same yes, not "erased"
    await bus.drain()
    # The link works through her end date; the day after, `dsr retention run` lets the key go (lease expired).
    assert bus.ctx.vault.expire(expires_at(ask.end_date) - timedelta(seconds=1)) == []
    assert bus.ctx.vault.expire(expires_at(ask.end_date)) == []  # kept through its `until`
    assert bus.ctx.vault.expire(expires_at(ask.end_date) + timedelta(seconds=1)) == [ask.subject_ref]


async def test_a_re_contact_key_a_case_uses_stays_after_the_link():
    # Ines answered nothing, but wrote in meanwhile: her case took up the key, and the link's end leaves it.
    bus = Bus()
    _, ask = await emailed_link(bus)
    identity = {"identity_type": "email", "identity_value": INES, "identity_format": "raw"}
    await bus.submit(raw(example("dsr.rights.requested", data={"subject_identities": [identity]})))
    assert bus.ctx.vault.expire(expires_at(ask.end_date) + timedelta(days=1)) == []
    assert bus.ctx.vault.get(ask.subject_ref) is not None


async def test_a_form_submission_s_key_is_leased_and_goes_after_its_days_unless_a_case_took_it_up():
    # Camille asked for a quote and never wrote in again: her key sealed the tasks and the thank-you e-mail, then
    # goes after DSR_SUBMISSION_KEY_DAYS (the clock's expiry), so a prospect the sweep erases years later has none.
    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))
    ref, ttl = bus.ctx.sealer.ref(CAMILLE), bus.ctx.config.submission_key_ttl
    assert bus.ctx.vault.get(ref) is not None and bus.sent  # recorded by the systems, thanked
    assert bus.ctx.vault.expire(bus.clock() + ttl - timedelta(seconds=1)) == []  # dead letters may be replayed
    assert bus.ctx.vault.expire(bus.clock() + ttl + timedelta(seconds=1)) == [ref]
    assert bus.ctx.vault.get(ref) is None


async def test_a_form_submission_s_key_a_case_took_up_stays():
    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))
    await bus.submit(raw(example("dsr.rights.requested")))  # the same Camille writes in: her case claims the key
    ref = bus.ctx.sealer.ref(CAMILLE)
    assert bus.ctx.vault.expire(bus.clock() + timedelta(days=3650)) == [] and bus.ctx.vault.get(ref) is not None


async def test_a_case_s_key_is_not_leased_by_a_later_form_submission():
    bus = Bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    await bus.submit(raw(example("dsr.form.quote_requested")))  # her case still holds the key: used as it is
    ref = bus.ctx.sealer.ref(CAMILLE)
    assert bus.ctx.vault.expire(bus.clock() + timedelta(days=3650)) == [] and bus.ctx.vault.get(ref) is not None
