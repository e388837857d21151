"""External systems' task API (open, seal) and the SDK on the in-memory bus: an export from outside
reaches the person's access copy."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from handlers.sdk import BackOffice, Exported, Lookup, TokenRejected
from handlers.sdk_ports import SubjectErased
from schemas.sealed import Sealed
from schemas.tasks import Task
from streams import topics
from streams.access_package import open_access_package
from streams.web.task_api import open_task, seal_export, seal_subjects, system_token
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, confirm, example, raw

pytestmark = pytest.mark.streams

RECORDS = {"invoices": [{"invoice": "F-2026-001", "amount_eur": 240, "_origin": "observed"}]}


class InProcessApi:
    """The SDK's task API port wired to the functions behind the HTTP views."""

    def __init__(self, bus: Bus, system: str) -> None:
        self.ctx = bus.ctx
        self.authorization = f"Bearer {system_token(bus.ctx.config.secret_key, system)}"

    def open(self, task: Task) -> dict:
        return self._answer(*open_task(self.ctx, self.authorization, task.to_bytes()))

    def seal(self, task: Task, answer: dict) -> Sealed:
        body = json.dumps({"task": json.loads(task.to_bytes()), **answer}).encode()
        return Sealed.model_validate(self._answer(*seal_export(self.ctx, self.authorization, body)))

    @staticmethod
    def _answer(status: int, answer: dict) -> dict:
        if status == 410:
            raise SubjectErased(answer["error"])
        if status == 403:
            raise TokenRejected(answer["error"])
        assert status == 200, answer
        return answer


def external_bus() -> Bus:
    """CRM and newsletter built in; "billing" served from outside (no runner: its tasks wait on the topic)."""
    bus = Bus(systems=("crm", "newsletter", "billing"))
    bus.ctx.task_runners.pop("billing")
    return bus


def seal_body(task: bytes, **answer) -> bytes:
    return json.dumps({"task": json.loads(task), **answer}).encode()


def test_a_retention_scan_s_people_are_named_and_sealed_for_the_token_s_system_only():
    bus = external_bus()
    secret = bus.ctx.config.secret_key
    mine, theirs = f"Bearer {system_token(secret, 'billing')}", f"Bearer {system_token(secret, 'crm')}"
    body = json.dumps({"system": "billing", "emails": [CAMILLE, "hugo@example.test"]}).encode()
    status, answer = seal_subjects(bus.ctx, mine, body)
    assert status == 200
    first, second = answer["subjects"]
    assert first["subject_ref"] == bus.ctx.sealer.ref(CAMILLE) and second["subject_ref"] == bus.ctx.sealer.ref(
        "hugo@example.test"
    )
    assert bus.ctx.sealer.open(Sealed.model_validate(first["subject"])) == {"email": CAMILLE}
    assert CAMILLE not in json.dumps(answer)
    assert seal_subjects(bus.ctx, theirs, body)[0] == 403
    assert seal_subjects(bus.ctx, "", body)[0] == 403
    assert seal_subjects(bus.ctx, mine, json.dumps({"system": "billing", "emails": []}).encode())[0] == 400
    assert seal_subjects(bus.ctx, mine, b"not json")[0] == 400


async def test_seal_export_seals_for_the_tasks_system_only_while_the_key_exists():
    bus = external_bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    task = bus.on("dsr.tasks.billing")[0]
    secret = bus.ctx.config.secret_key
    mine, theirs = f"Bearer {system_token(secret, 'billing')}", f"Bearer {system_token(secret, 'crm')}"
    status, answer = seal_export(bus.ctx, mine, seal_body(task, export={"records": RECORDS}))
    assert status == 200
    assert bus.ctx.sealer.open(Sealed.model_validate(answer)) == {"system": "billing", "records": RECORDS}
    status, answer = seal_export(bus.ctx, mine, seal_body(task, changes={"phone": {"old": "1", "new": "2"}}))
    assert status == 200 and bus.ctx.sealer.open(Sealed.model_validate(answer))["phone"]["new"] == "2"
    assert seal_export(bus.ctx, theirs, seal_body(task, export={"records": RECORDS}))[0] == 403
    assert seal_export(bus.ctx, "", seal_body(task, export={"records": RECORDS}))[0] == 403
    assert seal_export(bus.ctx, mine, seal_body(task))[0] == 400  # nothing to seal
    assert seal_export(bus.ctx, mine, seal_body(task, export={"records": "x"}))[0] == 400
    assert seal_export(bus.ctx, mine, b"not json")[0] == 400
    bus.ctx.sealer.forget(bus.ctx.sealer.ref(CAMILLE))
    assert seal_export(bus.ctx, mine, seal_body(task, export={"records": RECORDS}))[0] == 410


async def test_a_task_forged_for_another_subject_is_not_sealed_for():
    bus = external_bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    task = json.loads(bus.on("dsr.tasks.billing")[0])
    other = json.loads(bus.on("dsr.tasks.billing")[0])
    other["subject"]["subject_ref"] = other["subject_ref"] = "0" * 32  # a ref whose key the vault does not hold
    mine = f"Bearer {system_token(bus.ctx.config.secret_key, 'billing')}"
    body = json.dumps({"task": other, "export": {"records": RECORDS}}).encode()
    assert seal_export(bus.ctx, mine, body)[0] == 410
    task["subject"]["ciphertext"] = task["subject"]["ciphertext"][:-4] + "AAAA"  # tampered: opens for nobody
    body = json.dumps({"task": task, "export": {"records": RECORDS}}).encode()
    assert seal_export(bus.ctx, mine, body)[0] == 403


async def test_a_task_relabelled_for_another_system_opens_for_nobody():
    # The newsletter's team reads a recruitment task off Kafka and relabels it as theirs, hoping its token
    # opens the candidate's data. The values were sealed for "recruitment" alone.
    bus = Bus(systems=("crm", "recruitment", "newsletter"))
    await bus.submit(raw(example("dsr.form.job_application_submitted")))
    task = json.loads(bus.on(topics.tasks("recruitment"))[0])
    newsletter = f"Bearer {system_token(bus.ctx.config.secret_key, 'newsletter')}"
    recruitment = f"Bearer {system_token(bus.ctx.config.secret_key, 'recruitment')}"
    assert open_task(bus.ctx, recruitment, json.dumps(task).encode())[0] == 200  # its own system opens it
    relabelled = {**task, "system": "newsletter"}
    status, answer = open_task(bus.ctx, newsletter, json.dumps(relabelled).encode())
    assert status == 403 and "subject" not in answer
    # Relabelling the seal's audience too breaks the seal: the audience is authenticated.
    forged = {
        **relabelled,
        "subject": {**task["subject"], "audience": "newsletter"},
        "payload": {**task["payload"], "audience": "newsletter"},
    }
    status, answer = open_task(bus.ctx, newsletter, json.dumps(forged).encode())
    assert status == 403 and "subject" not in answer and "payload" not in answer
    body = json.dumps({"task": forged, "export": {"records": RECORDS}}).encode()
    assert seal_export(bus.ctx, newsletter, body)[0] == 403


async def answer_billing(bus: Bus, office: BackOffice) -> None:
    """What the SDK's loop does with each task on `dsr.tasks.billing`, without Kafka. Every task from the
    start, as after a restart: those already answered are answered again from the SDK's record."""
    for value in bus.on(topics.tasks("billing")):
        outcome = office.answer(value)
        await bus.publish(topics.TASK_RESULTS, outcome.result.subject_request_id, outcome.result.to_bytes())
    await bus.drain()


async def test_an_access_copy_includes_the_export_of_a_system_served_by_the_sdk(tmp_path):
    bus = external_bus()
    office = BackOffice("billing", api=InProcessApi(bus, "billing"), state_dir=tmp_path)
    office.handles("lookup")(lambda t: Lookup(holds_data=t.email == CAMILLE, channels=["email"]))
    office.handles("export")(lambda t: Exported(records=RECORDS if t.email == CAMILLE else {}))
    # Camille, known to billing only, asks for a copy of her data.
    await bus.submit(raw(example("dsr.rights.requested", data={"subject_request_type": "access"})))
    await answer_billing(bus, office)  # billing: yes, I know her
    await confirm(bus, CAMILLE)
    await answer_billing(bus, office)  # billing: here is what I hold
    [request_id] = {json.loads(v)["subject_request_id"] for v in bus.on(topics.tasks("billing"))}
    archive = zipfile.ZipFile(io.BytesIO(open_access_package(bus.ctx, request_id)))
    assert json.loads(archive.read("billing.json")) == {"system": "billing", "records": RECORDS}
