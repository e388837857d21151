"""Two `dsr run` workers in one consumer group, on a PostgreSQL key vault, access-copy store and systems:
every HTTP request works on the worker that does not hold the case."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pytest
from kafka import KafkaConsumer

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.postgres import create_database, drop_database
from gdpr.lifecycle import stable_id
from streams import topics
from streams.intake import reference
from streams.web.peers import cluster_token
from streams.web.task_api import system_token
from tests.integration.pipeline import Pipeline, example, http, link, new_person, rights_request
from tests.integration.rights_support import dpo

pytestmark = pytest.mark.integration
SECRET = "integration-test-secret-0123456789abcdef"  # the Pipeline's DSR_SECRET_KEY


@pytest.fixture(scope="module")
def two_workers(postgres, tmp_path_factory):
    database = f"dsr_two_{uuid.uuid4().hex[:12]}"
    dsn = create_database(postgres.dsn, database)
    broker = EmbeddedKafka(tmp_path_factory.mktemp("two-kafka"), port=free_port()).start()
    running = Pipeline(
        broker.bootstrap,
        tmp_path_factory.mktemp("two-workers"),
        DSR_POSTGRES_DSN=dsn,
        DSR_VAULT_DSN=dsn,
        DSR_PARTITIONS="4",
        DSR_SYSTEMS="crm,recruitment,newsletter,directives",
    )
    try:
        running.start()
        running.add_worker()
        for worker in running.workers:  # both in the group, each with its partitions
            worker.wait_ready(120)
        yield running
    finally:
        running.close()
        broker.stop()
        drop_database(postgres.dsn, database)


def holder(pipeline, request_id: str):
    """The worker whose partitions hold the case, asked as workers ask each other."""
    token = {"Authorization": f"Bearer {cluster_token(SECRET.encode())}"}
    holding = [
        w
        for w in pipeline.workers
        if http("GET", f"{w.admin_url}/internal/cases?request_id={request_id}", headers=token)[0] == 200
    ]
    assert len(holding) == 1, f"{len(holding)} workers hold {request_id}"
    return holding[0]


def on(worker, url: str) -> str:
    """The same link, sent to this worker's public listener (as a load balancer may)."""
    path = url.split("/", 3)[3]
    return f"{worker.url}/{path}"


def erasures_on_both_workers(pipeline) -> list[tuple[str, str, object]]:
    """Erasure requests until each worker holds at least one: (email, request id, the worker holding it)."""
    cases = []
    while len({id(w) for _, _, w in cases}) < 2 and len(cases) < 16:
        email, name = new_person()
        pipeline.publish(example("dsr.form.quote_requested", email=email, first_name=name, last_name="Durand"))
        request = rights_request(email, name)
        pipeline.publish(request)
        pipeline.email(email, "/verify/")
        request_id = stable_id("request", request["id"])
        cases.append((email, request_id, holder(pipeline, request_id)))
    assert len({id(w) for _, _, w in cases}) == 2, "all cases landed on one worker"
    return cases


def test_links_work_on_the_worker_that_does_not_hold_the_case(two_workers):
    for email, _, owner in erasures_on_both_workers(two_workers):
        other = next(w for w in two_workers.workers if w is not owner)
        url = on(other, link(two_workers.email(email, "/verify/"), "verify"))
        status, page, _ = http("GET", url)
        assert status == 200 and b"<form" in page  # shows the form, confirms nothing
        assert http("POST", url)[0] == 200
        outcome = two_workers.email(email, "(CRM)", timeout=90)
        assert "effac" in outcome.text.lower()


def test_the_dpo_sees_and_decides_every_case_from_either_worker(two_workers):
    cases = erasures_on_both_workers(two_workers)
    for worker in two_workers.workers:
        env = {**two_workers.env, "DSR_API_URL": worker.admin_url}
        listed = dpo(two_workers, "list", env=env)
        assert listed.returncode == 0, listed.stderr
        for _, request_id, _ in cases:
            assert reference(request_id) in listed.stdout
    email, request_id, owner = cases[0]
    other = next(w for w in two_workers.workers if w is not owner)
    env = {**two_workers.env, "DSR_API_URL": other.admin_url}
    shown = dpo(two_workers, "show", reference(request_id), env=env)
    assert shown.returncode == 0 and request_id in shown.stdout
    extended = dpo(two_workers, "extend", reference(request_id), "--reason", "spread_across_systems", env=env)
    assert extended.returncode == 0, extended.stderr
    two_workers.email(email, "prolong", timeout=60)


def test_an_access_copy_downloads_from_either_worker(two_workers):
    email, name = new_person()
    two_workers.publish(example("dsr.form.quote_requested", email=email, first_name=name, last_name="Durand"))
    two_workers.publish(rights_request(email, name, right="access"))
    verify = link(two_workers.email(email, "/verify/"), "verify")
    assert http("POST", on(two_workers.workers[1], verify))[0] == 200
    download = link(two_workers.email(email, "/download/", timeout=90), "download")
    for worker in two_workers.workers:
        status, body, headers = http("GET", on(worker, download))
        assert status == 200 and headers["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert "crm.json" in names and json.loads(zipfile.ZipFile(io.BytesIO(body)).read("crm.json"))


def task_sent_to(pipeline, system: str, request_id: str, timeout: float = 60) -> bytes:
    """The first task of the case on the system's topic, as a system outside the workers reads it."""
    consumer = KafkaConsumer(
        topics.tasks(system), bootstrap_servers=pipeline.bootstrap, auto_offset_reset="earliest", group_id=None
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if json.loads(record.value)["subject_request_id"] == request_id:
                        return record.value
    finally:
        consumer.close()
    raise AssertionError(f"no task of {request_id} on {topics.tasks(system)}")


def test_a_system_opens_and_seals_its_tasks_on_the_worker_that_does_not_hold_the_case(two_workers):
    # A case waits for its verification: the systems were asked whether they know the person, and the key lives.
    email, name = new_person()
    two_workers.publish(example("dsr.form.quote_requested", email=email, first_name=name, last_name="Durand"))
    request = rights_request(email, name)
    two_workers.publish(request)
    two_workers.email(email, "/verify/")
    request_id = stable_id("request", request["id"])
    owner = holder(two_workers, request_id)
    other = next(w for w in two_workers.workers if w is not owner)
    task = task_sent_to(two_workers, "crm", request_id)
    headers = {"Authorization": f"Bearer {system_token(SECRET.encode(), 'crm')}", "Content-Type": "application/json"}
    # The system opens it, and seals its export, on the worker without the case: both need the shared vault only.
    status, body, _ = http("POST", f"{other.admin_url}/api/tasks/open", task, headers)
    assert status == 200, body
    assert json.loads(body)["subject"]["email"] == email
    seal = json.dumps({"task": json.loads(task), "export": {"records": {"customers": [{"email": email}]}}}).encode()
    status, body, _ = http("POST", f"{other.admin_url}/api/tasks/seal", seal, headers)
    assert status == 200, body
    assert json.loads(body)["subject_ref"] == json.loads(task)["subject_ref"]
