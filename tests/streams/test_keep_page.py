"""The re-contact's page on the public listener: the e-mail's link asks (GET), one POST publishes the person's yes as
a `record_contact` task for each system, audited without personal data; forged and expired links are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dsr.recontact import Mailing, Recontact, email_of
from gdpr.recontact import Ask
from schemas.tasks import Task, TaskAction
from streams import topics
from tests.streams.bus import Bus
from tests.streams.test_flow import link
from tests.streams.test_routes import client, listeners

pytestmark = pytest.mark.streams

INES = "ines.keep@example.test"


async def emailed_link(bus: Bus, language: str = "fr") -> tuple[str, Ask]:
    """`dsr retention run` asks Ines ten days before her end; the mailer sends it; her link, as she receives it."""
    ctx = bus.ctx
    today = ctx.clock().date()
    ask = Ask(ctx.sealer.ref(INES), ("crm",), today + timedelta(days=10))
    recontact = Recontact(today, 30, [ask], {ask.subject_ref: INES}, {ask.subject_ref: language})
    mailing = Mailing(ctx.sealer.seal, ctx.config.secret_key, ctx.config.public_url, ctx.clock)
    await bus.publish(topics.NOTIFICATIONS, "recontact", email_of(recontact, ask, mailing).to_bytes())
    await bus.drain()
    (message,) = bus.emails_to(INES)
    return link(message, "keep"), ask


def contact_tasks(bus: Bus) -> list[Task]:
    return [Task.model_validate_json(v) for v in bus.on(topics.tasks("crm"))]


async def test_the_link_asks_and_one_post_records_the_yes_in_the_crm():
    bus = Bus()
    token, ask = await emailed_link(bus)
    async with client(listeners(bus)["public"]) as http:
        page = await http.get(f"/keep/{token}")
        text = await page.text()
        # A GET only asks (mail scanners prefetch links): a form with one button, and the date of the deletion.
        assert page.status == 200 and "Souhaitez-vous continuer" in text and f'action="/keep/{token}"' in text
        assert "6 décembre 2026" in text and contact_tasks(bus) == []
        answered = await http.post(f"/keep/{token}")
        assert answered.status == 200 and "Nous gardons vos coordonnées" in await answered.text()
        again = await http.post(f"/keep/{token}")  # a second click: the same task, answered from its record
        assert again.status == 200
    first, second = contact_tasks(bus)
    assert first.task_id == second.task_id and first.subject_request_id == f"recontact-{bus.ctx.clock().date()}"
    assert (first.action, first.reason, first.subject_ref) == (
        TaskAction.RECORD_CONTACT,
        "keep_informed",
        ask.subject_ref,
    )
    assert bus.ctx.sealer.open_for("crm", first.subject) == {"email": INES, "name": ""}  # sealed for the CRM only
    kept = [a for a in bus.audits() if a.kind == "retention_recontact_kept"]
    assert {a.audit_id for a in kept} and len({a.audit_id for a in kept}) == 1
    assert not any("@" in a.model_dump_json() for a in bus.audits())


async def test_the_page_speaks_the_persons_language():
    bus = Bus()
    token, _ = await emailed_link(bus, "en")
    async with client(listeners(bus)["public"]) as http:
        text = await (await http.get(f"/keep/{token}")).text()
    assert "Would you like to keep hearing from us?" in text and 'lang="en"' in text


async def test_a_forged_or_expired_link_records_nothing():
    bus = Bus()
    token, _ = await emailed_link(bus)
    async with client(listeners(bus)["public"]) as http:
        forged = await http.post(f"/keep/{token[:-4]}abcd")
        assert forged.status == 400 and "Lien non valable" in await forged.text()
        bus.clock.advance(days=11)  # past the end date: the data are gone, or going
        expired = await http.post(f"/keep/{token}")
        assert expired.status == 410 and "expiré" in await expired.text()
    assert contact_tasks(bus) == []
