"""The pipelines under test.

`pipeline`: one worker process for the session, on the session's Kafka broker and SQLite stores, with four
systems outside the worker: "billing" through plain Kafka and HTTP, "accounting" through the SDK, and two
reached by signed webhooks, served here by `WebhookReceiver`s: "helpdesk", and "loyalty", which answers 503
to the erasures of the people a test marks as failing (everyone else is served normally).

`pg_pipeline`: a second worker whose reference systems, key vault and access copies are on PostgreSQL (a
database of the session's server), on a Kafka broker of its own: the faust app id and topic names are fixed
(streams/app.py, streams/topics.py), so two workers on one broker would share `dsr.intake` in one consumer group."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.postgres import create_database, drop_database
from dsr.webhooks import webhook_secret
from handlers.memory import MemoryAdapter
from handlers.webhook_receiver import Answer, WebhookReceiver, serve
from streams.web.task_api import system_token
from tests.integration.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import backoffice_sdk
import external_system

BILLING_CUSTOMER = f"billing-{uuid.uuid4().hex[:8]}@example.test"
ACCOUNTING_CUSTOMERS = [f"accounting-{uuid.uuid4().hex[:8]}@example.test" for _ in range(2)]
WEBHOOK_SYSTEMS = ("helpdesk", "loyalty")


class FailingErasures:
    """A webhook system's front door that answers 503 to `erase` for the addresses in `failing`, like a
    system down for those calls only; every other call reaches the real receiver."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self.failing: set[str] = set()
        self.refused: list[str] = []  # the addresses it answered 503 for, one entry per call

    def handle(self, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            call = json.loads(body)
            email = call["subject"]["email"].lower()
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.receiver.handle(headers, body)
        if call.get("action") == "erase" and email in self.failing:
            self.refused.append(email)
            return 503, {"error": "service unavailable"}
        return self.receiver.handle(headers, body)


@pytest.fixture(scope="session")
def billing_records():
    return {BILLING_CUSTOMER: [{"invoice": "F-1", "amount_eur": 240}, {"invoice": "F-2", "amount_eur": 90}]}


@pytest.fixture(scope="session")
def accounting_store():
    store = backoffice_sdk.BillingStore()
    for email in ACCOUNTING_CUSTOMERS:
        store.seed(email, "Client Comptable", [{"invoice": "A-1", "amount_eur": 120}])
    return store


@pytest.fixture(scope="session")
def helpdesk_store() -> MemoryAdapter:
    """The store behind the "helpdesk" webhook; tests seed their people in it."""
    return MemoryAdapter("helpdesk")


@pytest.fixture(scope="session")
def loyalty_store() -> MemoryAdapter:
    return MemoryAdapter("loyalty")


@pytest.fixture(scope="session")
def loyalty_door(pipeline) -> FailingErasures:
    """The "loyalty" webhook's front door: add an address to `.failing` to make its erasures fail."""
    return pipeline.webhook_doors["loyalty"]


@pytest.fixture(scope="session")
def pipeline(kafka, tmp_path_factory, billing_records, accounting_store, helpdesk_store, loyalty_store):
    running = Pipeline(
        kafka.bootstrap,
        tmp_path_factory.mktemp("pipeline"),
        DSR_SYSTEMS="crm,recruitment,newsletter,directives,billing,accounting," + ",".join(WEBHOOK_SYSTEMS),
        DSR_BUILTIN_ADAPTERS="crm,recruitment,newsletter,directives",
    )
    stop = threading.Event()
    secret = running.env["DSR_SECRET_KEY"].encode()
    billing = threading.Thread(
        target=external_system.serve,
        daemon=True,
        args=(kafka.bootstrap, running.admin_url, system_token(secret, "billing"), "billing", billing_records, stop),
    )
    accounting = backoffice_sdk.build_office(
        accounting_store,
        "accounting",
        bootstrap=kafka.bootstrap,
        api_url=running.admin_url,
        token=system_token(secret, "accounting"),
        state_dir=running.data_dir / "backoffice",
        backoff=0.2,
    )
    served = threading.Thread(target=accounting.run, args=(stop,), daemon=True)
    # The webhook systems: each receiver checks signatures with the secret `dsr webhook-secret NAME` prints.
    doors = {
        "helpdesk": WebhookReceiver(helpdesk_store, webhook_secret(secret, "helpdesk", running.env)),
        "loyalty": FailingErasures(WebhookReceiver(loyalty_store, webhook_secret(secret, "loyalty", running.env))),
    }
    servers = [serve(door) for door in doors.values()]
    running.env["DSR_WEBHOOKS"] = ";".join(
        f"{name}=http://127.0.0.1:{server.server_address[1]}/dsr" for name, server in zip(doors, servers, strict=False)
    )
    running.webhook_doors = doors
    try:
        running.start()
        billing.start()
        served.start()
        yield running
    finally:
        stop.set()
        running.close()
        for server in servers:
            server.shutdown()
            server.server_close()
        billing.join(10)
        served.join(10)


@pytest.fixture(scope="module")
def pg_pipeline(postgres, tmp_path_factory):
    """The reference systems on PostgreSQL (a schema each in a fresh database), on a broker of its own."""
    data_dir = tmp_path_factory.mktemp("pg-pipeline")
    database = f"dsr_pipeline_{uuid.uuid4().hex[:12]}"
    dsn = create_database(postgres.dsn, database)
    broker = EmbeddedKafka(tmp_path_factory.mktemp("pg-kafka"), port=free_port()).start()
    running = None
    try:
        running = Pipeline(  # the key vault and the access copies in the same database (schemas dsr_vault, dsr_exports)
            broker.bootstrap,
            data_dir,
            DSR_POSTGRES_DSN=dsn,
            DSR_VAULT_DSN=dsn,
            DSR_SYSTEMS="crm,recruitment,newsletter,directives",
        )
        running.dsn = dsn
        running.start()
        yield running
    finally:
        if running is not None:
            running.close()
        broker.stop()
        drop_database(postgres.dsn, database)
