"""A SASL_SSL listener for real (SCRAM-SHA-512 and PLAIN users, certificates made here): the project's
kafka-python and aiokafka clients, the SDK and the faust worker go through it; wrong settings are named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer

from dsr.client import publish_event
from dsr.devstack.certs import make_certificates
from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.listener import SecuredListener
from dsr.kafka_access import check_kafka
from dsr.settings import load_settings
from handlers.kafka_security import KafkaSecurity
from handlers.sdk import BackOffice, KafkaUnreachable, Lookup, OpenedTask
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction
from tests.integration.pipeline import (
    EXAMPLES,
    PRODUCTION_ENV,
    ROOT,
    Pipeline,
    new_person,
    rights_request,
    security_env,
)

pytestmark = pytest.mark.integration

USER, PASSWORD = "dsr-worker", "worker-secret-1"
CHECK_BOUND = 15  # seconds: a refusal is named long before this; an unreachable listener after its timeout


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory, certs):
    listener = SecuredListener("SASL_SSL", certs, users={USER: PASSWORD})
    with EmbeddedKafka(tmp_path_factory.mktemp("sasl-kafka"), port=free_port(), listener=listener) as running:
        yield running


def scram(certs, password: str = PASSWORD, mechanism: str = "SCRAM-SHA-512") -> KafkaSecurity:
    return KafkaSecurity("SASL_SSL", mechanism, USER, password, certs.ca_file)


def read_with_kafka_python(broker, security: KafkaSecurity, topic: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
        **security.client_kwargs(),
    )
    try:
        return [m.value for _, m in zip(range(count), consumer, strict=False)]
    finally:
        consumer.close()


async def read_with_aiokafka(broker, security: KafkaSecurity, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", **security.client_kwargs()
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < count:
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 20)
            values += [record.value for records in batches.values() for record in records]
        return values
    finally:
        await consumer.stop()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_the_project_clients_publish_and_consume_through_sasl_ssl(broker, certs, mechanism):
    security = scram(certs, mechanism=mechanism)
    event = json.loads((EXAMPLES / "dsr.rights.requested.json").read_text())
    event_id = publish_event(broker.bootstrap, event, fresh=True, security=security)  # dsr.client, kafka-python
    # Read back with kafka-python and with aiokafka, given the same arguments.
    published = [json.loads(v)["id"] for v in read_with_kafka_python(broker, security, "dsr.intake", 50)]
    assert event_id in published
    values = asyncio.run(read_with_aiokafka(broker, security, "dsr.intake", len(published)))
    assert event_id in [json.loads(v)["id"] for v in values]


def test_a_wrong_password_stops_dsr_publish_naming_the_setting_within_seconds(broker, certs):
    env = security_env(scram(certs, password="not-the-password")) | {"DSR_KAFKA_BOOTSTRAP": broker.bootstrap}
    started = time.monotonic()
    done = dsr("publish", "--fresh", str(EXAMPLES / "dsr.rights.requested.json"), env=env)
    assert done.returncode != 0 and time.monotonic() - started < CHECK_BOUND
    assert "DSR_KAFKA_USERNAME / DSR_KAFKA_PASSWORD: the broker refused" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout


def test_a_wrong_password_stops_the_worker_naming_the_setting_within_seconds(broker, certs, tmp_path):
    env = security_env(scram(certs, password="not-the-password")) | worker_env(broker, tmp_path)
    started = time.monotonic()
    done = dsr("run", env=env, timeout=60)
    assert done.returncode != 0 and time.monotonic() - started < CHECK_BOUND + 10  # + the worker's imports
    assert "DSR_KAFKA_USERNAME / DSR_KAFKA_PASSWORD" in done.stderr


def test_an_untrusted_broker_certificate_names_the_ca_file(broker, certs, tmp_path):
    stranger = make_certificates(tmp_path / "other-ca")
    settings = settings_for(scram(certs), kafka_ca_file=stranger.ca_file)
    with pytest.raises(SystemExit, match="DSR_KAFKA_CA_FILE: the broker's certificate is not trusted"):
        check_kafka(settings, broker.bootstrap)


def test_plaintext_against_the_tls_listener_names_the_protocol_within_the_timeout(broker):
    started = time.monotonic()
    with pytest.raises(SystemExit, match="DSR_KAFKA_SECURITY_PROTOCOL=PLAINTEXT"):
        check_kafka(load_settings(kafka_connect_timeout=3), broker.bootstrap)
    assert time.monotonic() - started < CHECK_BOUND


def test_an_unreachable_tls_listener_names_the_bootstrap_within_the_timeout(certs):
    started = time.monotonic()
    with pytest.raises(SystemExit, match="DSR_KAFKA_BOOTSTRAP: nothing listens there"):
        check_kafka(settings_for(scram(certs), kafka_connect_timeout=3), f"127.0.0.1:{free_port()}")
    assert time.monotonic() - started < CHECK_BOUND


class OpenedByHand:
    """The task API the SDK calls, answering without a worker (the subject is not sealed here)."""

    def open(self, task: Task) -> dict:
        return {"subject": {"email": "someone@example.test", "name": "Someone"}, "payload": None}

    def seal(self, task: Task, answer: dict) -> Sealed:
        raise AssertionError("lookup seals nothing")


def test_the_sdk_answers_a_task_through_sasl_ssl(broker, certs, tmp_path):
    system = f"billing{uuid.uuid4().hex[:6]}"
    office = BackOffice(system, broker.bootstrap, state_dir=tmp_path, api=OpenedByHand(), security=scram(certs))

    @office.handles("lookup")
    def lookup(task: OpenedTask) -> Lookup:
        return Lookup(holds_data=True, channels=["email"])

    task = Task(
        task_id=f"task-{system}",
        subject_request_id="case-sasl",
        system=system,
        action=TaskAction.LOOKUP,
        subject_ref="ref",
        subject=Sealed(subject_ref="ref", nonce="bm9uY2U", ciphertext="Y2lwaGVy"),
        issued_at=datetime.now(UTC),
    )
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", **scram(certs).client_kwargs())
    producer.send(f"dsr.tasks.{system}", key=b"case-sasl", value=task.to_bytes()).get(30)
    producer.close()
    stop = threading.Event()
    serving = threading.Thread(target=office.run, args=(stop,), daemon=True)
    serving.start()
    try:
        results = [json.loads(v) for v in read_with_kafka_python(broker, scram(certs), "dsr.task-results", 50)]
        assert any(r["task_id"] == task.task_id and r["holds_data"] for r in results)
    finally:
        stop.set()
        serving.join(20)


def test_the_sdk_with_a_wrong_password_stops_with_a_clear_error(broker, certs, tmp_path):
    office = BackOffice(
        "billing",
        broker.bootstrap,
        state_dir=tmp_path,
        security=scram(certs, password="not-the-password"),
        kafka_options={"bootstrap_timeout_ms": 5000},
    )
    started = time.monotonic()
    with pytest.raises(KafkaUnreachable, match="security_protocol, ca_file, username and password"):
        office.run(threading.Event())
    assert time.monotonic() - started < CHECK_BOUND


def test_the_worker_serves_a_request_through_sasl_ssl(broker, certs, tmp_path):
    # The faust worker (aiokafka under faust's SASL credentials) reads the request and sends the receipt.
    pipeline = Pipeline(broker.bootstrap, tmp_path, security=scram(certs), DSR_SYSTEMS="crm")
    try:
        pipeline.start()
        email, name = new_person()
        publish_event(broker.bootstrap, rights_request(email, name), security=scram(certs))
        receipt = pipeline.email(email, "Date limite de réponse", timeout=90)
        assert "Référence du dossier" in receipt.text
    finally:
        pipeline.close()


def settings_for(security: KafkaSecurity, **overrides):
    values = {
        "kafka_security_protocol": security.security_protocol,
        "kafka_sasl_mechanism": security.sasl_mechanism,
        "kafka_username": security.username,
        "kafka_password": security.password,
        "kafka_ca_file": security.ca_file,
    }
    return load_settings(**(values | overrides))


def worker_env(broker, data_dir: Path) -> dict[str, str]:
    return {
        **PRODUCTION_ENV,
        "DSR_KAFKA_BOOTSTRAP": broker.bootstrap,
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_DATA_DIR": str(data_dir),
        "DSR_WEB_PORT": str(free_port()),
        "DSR_ADMIN_PORT": str(free_port()),
        "DSR_KAFKA_CONNECT_TIMEOUT": "10",
    }


def dsr(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dsr.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def mtls_broker(tmp_path_factory, certs):
    listener = SecuredListener("SSL", certs, client_auth=True)
    with EmbeddedKafka(tmp_path_factory.mktemp("mtls-kafka"), port=free_port(), listener=listener) as running:
        yield running


def test_mutual_tls_with_a_client_certificate(mtls_broker, certs):
    security = KafkaSecurity(
        "SSL", ca_file=certs.ca_file, cert_file=certs.client.cert_file, key_file=certs.client.key_file
    )
    event = json.loads((EXAMPLES / "dsr.rights.requested.json").read_text())
    event_id = publish_event(mtls_broker.bootstrap, event, fresh=True, security=security)
    values = asyncio.run(read_with_aiokafka(mtls_broker, security, "dsr.intake", 1))
    assert [json.loads(v)["id"] for v in values] == [event_id]
    # Without the certificate, the start names it once the timeout is over.
    without = settings_for(KafkaSecurity("SSL", ca_file=certs.ca_file), kafka_connect_timeout=3)
    with pytest.raises(SystemExit, match="DSR_KAFKA_CERT_FILE"):
        check_kafka(without, mtls_broker.bootstrap)
