"""The pipeline under test: one worker process for the session, on the session's Kafka broker,
with two external back-office systems: "billing" through plain Kafka and HTTP, "accounting" through the SDK."""
from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

import pytest

from streams.web import system_token
from tests.integration.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import backoffice_sdk  # noqa: E402
import external_system  # noqa: E402

BILLING_CUSTOMER = f"billing-{uuid.uuid4().hex[:8]}@example.test"
ACCOUNTING_CUSTOMERS = [f"accounting-{uuid.uuid4().hex[:8]}@example.test" for _ in range(2)]


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
def pipeline(kafka, tmp_path_factory, billing_records, accounting_store):
    running = Pipeline(kafka.bootstrap, tmp_path_factory.mktemp("pipeline"),
                       DSR_SYSTEMS="crm,recruitment,newsletter,directives,billing,accounting",
                       DSR_BUILTIN_ADAPTERS="crm,recruitment,newsletter,directives")
    stop = threading.Event()
    secret = running.env["DSR_SECRET_KEY"].encode()
    billing = threading.Thread(target=external_system.serve, daemon=True, args=(
        kafka.bootstrap, running.url, system_token(secret, "billing"), "billing", billing_records, stop))
    accounting = backoffice_sdk.build_office(accounting_store, "accounting", bootstrap=kafka.bootstrap,
                                             api_url=running.url, token=system_token(secret, "accounting"),
                                             state_dir=running.data_dir / "backoffice", backoff=0.2)
    served = threading.Thread(target=accounting.run, args=(stop,), daemon=True)
    try:
        running.start()
        billing.start()
        served.start()
        yield running
    finally:
        stop.set()
        running.close()
        billing.join(10)
        served.join(10)
