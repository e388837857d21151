"""A back-office system served by the SDK (examples/backoffice_sdk.py as "accounting") on real Kafka."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pytest

from tests.integration.conftest import ACCOUNTING_CUSTOMERS
from tests.integration.pipeline import link, new_person, rights_request
from tests.integration.test_bad_input_and_shredding import read_topic
from tests.integration.test_end_to_end import confirm

pytestmark = pytest.mark.integration


def test_an_access_copy_holds_what_the_sdk_system_exported(pipeline):
    email = ACCOUNTING_CUSTOMERS[0]
    # A customer known only to accounting asks for a copy of her data; she confirms by the link.
    pipeline.publish(rights_request(email, "Client Comptable", right="access", language="en"))
    confirm(pipeline, email)
    outcome = pipeline.email(email, "/download/", timeout=90)
    status, body, _ = pipeline.get(link(outcome, "download"))
    assert status == 200
    accounting = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("accounting.json"))
    assert accounting["records"]["invoices"][0]["invoice"] == "A-1"
    assert accounting["records"]["customer"][0]["email"] == email


def test_an_erasure_erases_in_the_sdk_systems_store_and_keeps_the_invoices(pipeline, accounting_store):
    email = ACCOUNTING_CUSTOMERS[1]
    pipeline.publish(rights_request(email, "Client Comptable"))
    confirm(pipeline, email)
    pipeline.email(email, "accounting", timeout=90)  # the outcome names the system
    assert set(accounting_store.records(email)) == {"invoices"}  # Art. 17(3)(b): kept, reported as kept


def test_a_malformed_task_is_dead_lettered_and_the_next_task_served(pipeline):
    marker = uuid.uuid4().hex.encode()
    pipeline.producer.send("dsr.tasks.accounting", key=marker, value=b'{"task_id": "not a whole task"}').get(30)
    # The next task (a lookup for a person nobody knows) is answered: the case reaches its outcome.
    email, name = new_person()
    pipeline.publish(rights_request(email, name, language="en"))
    confirm(pipeline, email)
    assert pipeline.email(email, "no personal data", timeout=90)
    dead = []
    deadline = time.monotonic() + 30
    while not dead and time.monotonic() < deadline:
        dead = [m for m in read_topic(pipeline.bootstrap, "dsr.tasks.accounting.dlq") if m.key == marker]
    headers = dict(dead[0].headers)
    assert headers["dsr-dlq-reason"].startswith(b"invalid task: ")
    assert headers["dsr-dlq-origin-topic"] == b"dsr.tasks.accounting"
