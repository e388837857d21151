"""Whole requests through the stream functions on an in-memory bus: the logic of the pipeline, no Kafka."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from handlers.protocol import Subject
from mail.transport import PermanentMailError
from schemas.audit import AuditRecord
from streams import topics
from streams.access_package import open_access_package
from streams.web.center.verify import publish_confirmation, verification
from tests.streams.bus import Bus

pytestmark = pytest.mark.streams

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
CAMILLE = "camille.durand@example.test"


def example(event_type: str, **changes) -> dict:
    event = json.loads((EXAMPLES / f"{event_type}.json").read_text())
    data = changes.pop("data", {})
    event.update(changes)
    event["data"].update(data)
    return event


def raw(event: dict) -> bytes:
    return json.dumps(event).encode()


def body(message) -> str:
    plain = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return plain.get_payload(decode=True).decode()


def link(message, kind: str) -> str:
    return re.search(rf"http://dsr\.test/{kind}/(\S+)", body(message)).group(1)


async def confirm(bus: Bus, address: str) -> None:
    message = [m for m in bus.emails_to(address) if "verify/" in body(m)][-1]
    token = link(message, "verify")
    asked = await verification(bus.ctx, bus.directory, token, confirm=False)
    assert asked.status == 200 and not asked.confirms  # a GET (mail scanners prefetch) never verifies
    clicked = await verification(bus.ctx, bus.directory, token, confirm=True)
    assert clicked.status == 200 and clicked.confirms
    await publish_confirmation(bus.ctx, token)
    await bus.drain()


def holds(bus: Bus, system: str, email: str) -> bool:
    return bus.adapters[system].lookup(Subject(email)).holds_data


def audits(bus: Bus) -> list[AuditRecord]:
    return bus.audits()


async def test_quote_then_erasure_end_to_end():
    bus = Bus()
    # Camille asks for a quote: the CRM records it, the newsletter too (she opted in), she is thanked.
    await bus.submit(raw(example("dsr.form.quote_requested")))
    assert holds(bus, "crm", CAMILLE) and holds(bus, "newsletter", CAMILLE)
    assert len(bus.emails_to(CAMILLE)) == 1
    # She then asks for erasure: receipt with the deadline, then a link to confirm.
    await bus.submit(raw(example("dsr.rights.requested")))
    subjects = [m["Subject"] for m in bus.emails_to(CAMILLE)]
    assert len(subjects) == 3
    await confirm(bus, CAMILLE)
    # Every system holding data erased it; the outcome says where; her key is gone.
    assert not holds(bus, "crm", CAMILLE)
    assert not holds(bus, "newsletter", CAMILLE)
    outcome = bus.emails_to(CAMILLE)[-1]
    assert "(CRM)" in body(outcome) and "lettre d'information" in body(outcome)
    assert "key_destroyed" in [a.kind for a in audits(bus)]
    ref = bus.ctx.sealer.ref(CAMILLE)
    assert bus.ctx.vault.get(ref) is None


async def test_access_request_delivers_a_downloadable_copy():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille", "lead_score": 20})
    await bus.submit(raw(example("dsr.rights.requested", data={"subject_request_type": "access"})))
    await confirm(bus, CAMILLE)
    outcome = bus.emails_to(CAMILLE)[-1]
    token = link(outcome, "download")
    from gdpr.tokens import verify_token

    request_id = verify_token(bus.ctx.config.secret_key, token, "download", bus.clock()).request_id
    archive = zipfile.ZipFile(io.BytesIO(open_access_package(bus.ctx, request_id)))
    crm = json.loads(archive.read("crm.json"))
    assert crm["records"]["person"][0]["first_name"] == "Camille"
    assert bus.ctx.vault.get(bus.ctx.sealer.ref(CAMILLE)) is not None  # access keeps the key
    # Once the link has expired, the copy itself is deleted.
    bus.clock.advance(days=8)
    await bus.tick()
    assert open_access_package(bus.ctx, request_id) is None
    assert "download_expired" in [a.kind for a in audits(bus)]


async def test_a_person_no_system_knows_gets_a_no_data_answer():
    bus = Bus()
    await bus.submit(
        raw(
            example(
                "dsr.rights.requested",
                data={"subject_identities": [{"identity_type": "email", "identity_value": "nobody@example.test"}]},
            )
        )
    )
    await confirm(bus, "nobody@example.test")
    kinds = [a.message_type for a in audits(bus) if a.kind == "email_sent"]
    assert kinds == ["receipt", "verification", "outcome_no_data"]


async def test_a_duplicate_event_opens_one_case_and_sends_one_receipt():
    bus = Bus()
    event = raw(example("dsr.rights.requested"))
    await bus.submit(event)
    await bus.submit(event)
    assert len(bus.cases) == 1
    assert len(bus.emails_to(CAMILLE)) == 2  # receipt + verification, once each


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"{not json", "Invalid JSON"),
        (raw(example("dsr.rights.requested", specversion="0.3")), "specversion"),
        (raw(example("dsr.rights.requested", type="dsr.unknown")), "type"),
        (raw(example("dsr.rights.requested", data={"subject_identities": []})), "subject_identities"),
        (b"{" + b" " * 1_000_001 + b"}", "exceeds"),
    ],
)
async def test_bad_input_goes_to_the_dead_letter_topic_with_its_reason(payload, reason):
    bus = Bus()
    await bus.submit(payload)
    await bus.submit(raw(example("dsr.rights.requested")))  # the next good event still goes through
    dead = bus.headers_on(topics.dlq(topics.INTAKE))
    assert len(dead) == 1 and reason in dead[0][topics.DLQ_REASON]
    assert len(bus.cases) == 1


async def test_a_permanent_smtp_failure_is_parked_without_retrying():
    bus = Bus()
    bus.mail.fail_next(PermanentMailError("550 no such user <camille.durand@example.test>"))
    await bus.submit(raw(example("dsr.rights.requested")))
    reasons = [a.detail["reason"] for a in audits(bus) if a.kind == "email_parked"]
    assert reasons and "camille" not in reasons[0]  # addresses scrubbed from the audit trail


async def test_a_silent_system_is_flagged_and_the_dpo_emailed():
    bus = Bus()
    bus.ctx.task_runners.pop("recruitment")  # a system that never answers
    await bus.submit(raw(example("dsr.rights.requested")))
    bus.clock.advance(hours=5)
    await bus.tick()
    assert "task_overdue" in [a.kind for a in audits(bus)]
    assert any(m["To"] == "dpo@example.test" for m in bus.mail.sent)


async def test_no_personal_data_in_the_audit_trail():
    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))
    await bus.submit(raw(example("dsr.rights.requested")))
    await confirm(bus, CAMILLE)
    for value in bus.on(topics.AUDIT) + bus.on(topics.CASES) + bus.on(topics.NOTIFICATIONS):
        assert b"camille" not in value.lower() and b"durand" not in value.lower()


async def test_the_audit_of_an_erasure_comes_in_batches_with_every_fact_and_no_personal_data():
    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))
    await bus.submit(raw(example("dsr.rights.requested")))
    await confirm(bus, CAMILLE)
    messages, records = bus.on(topics.AUDIT), audits(bus)
    # One message per step: the coordinator's task, status and key records travel together.
    assert len(messages) < len(records) and any(b'"records"' in m for m in messages)
    kinds = {r.kind for r in records}
    assert {"task_issued", "task_result", "case_status_changed", "email_sent", "key_destroyed"} <= kinds
    erased = {r.system for r in records if r.kind == "task_result" and r.action == "erase"}
    assert erased == {"crm", "newsletter"}  # every answer on record, each once
    assert len({r.audit_id for r in records}) == len(records)  # no fact twice
    for value in messages:
        assert b"camille" not in value.lower() and b"durand" not in value.lower()


async def test_an_external_system_opens_only_its_own_tasks_and_only_while_the_key_exists():
    from streams.web.task_api import open_task, system_token

    bus = Bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    task = next(v for t, _, v, _ in bus.log if t == "dsr.tasks.crm")
    secret = bus.ctx.config.secret_key
    status, answer = open_task(bus.ctx, f"Bearer {system_token(secret, 'crm')}", task)
    assert status == 200 and answer["subject"]["email"] == CAMILLE
    assert open_task(bus.ctx, f"Bearer {system_token(secret, 'newsletter')}", task)[0] == 403
    assert open_task(bus.ctx, "", task)[0] == 403
    bus.ctx.sealer.forget(bus.ctx.sealer.ref(CAMILLE))
    assert open_task(bus.ctx, f"Bearer {system_token(secret, 'crm')}", task)[0] == 410


@pytest.mark.parametrize(
    "event_type, systems",
    [
        ("dsr.form.job_application_submitted", {"recruitment"}),
        ("dsr.form.contact_submitted", {"crm"}),
        ("dsr.form.quote_requested", {"crm", "newsletter"}),  # the example opts in to e-mail marketing
    ],
)
async def test_each_form_goes_to_its_owning_system_and_is_acknowledged(event_type, systems):
    bus = Bus()
    event = example(event_type)
    await bus.submit(raw(event))
    email = event["data"]["email"]
    assert {s for s in bus.adapters if holds(bus, s, email)} == systems
    assert len(bus.emails_to(email)) == 1
    recorded = [a for a in audits(bus) if a.kind == "submission_recorded"]
    assert recorded[0].detail["systems"] == sorted(systems, key=["crm", "recruitment", "newsletter"].index)
    tasks = [v for t, _, v, _ in bus.log if t.startswith("dsr.tasks.")]
    assert tasks and not any(email.encode() in v or b"cv-7f3a" in v for v in tasks)  # sealed, CV by reference


async def test_a_binary_mode_event_with_extensions_opens_a_case_as_a_structured_one_does():
    # The Kafka binding's binary mode: attributes in ce_ headers (a traceparent among them), the data as the value.
    bus = Bus()
    event = example("dsr.rights.requested")
    headers = {f"ce_{k}": str(v) for k, v in event.items() if k not in ("data", "datacontenttype")}
    headers |= {"ce_traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    headers |= {"content-type": "application/json; charset=utf-8"}
    await bus.publish(topics.INTAKE, None, json.dumps(event["data"]).encode(), headers)
    await bus.drain()
    assert bus.on(topics.dlq(topics.INTAKE)) == []
    assert len(bus.cases) == 1 and "Accusé de réception" in str(bus.emails_to(CAMILLE)[0]["Subject"])
