"""The pipeline under test: one worker process for the session, on the session's Kafka broker,
with an external back-office system ("billing") plugged in through plain Kafka and HTTP."""
from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

import pytest

from streams.web import system_token
from tests.integration.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import external_system  # noqa: E402

BILLING_CUSTOMER = f"billing-{uuid.uuid4().hex[:8]}@example.test"


@pytest.fixture(scope="session")
def billing_records():
    return {BILLING_CUSTOMER: [{"invoice": "F-1", "amount_eur": 240}, {"invoice": "F-2", "amount_eur": 90}]}


@pytest.fixture(scope="session")
def pipeline(kafka, tmp_path_factory, billing_records):
    running = Pipeline(kafka.bootstrap, tmp_path_factory.mktemp("pipeline"),
                       DSR_SYSTEMS="crm,recruitment,newsletter,directives,billing",
                       DSR_BUILTIN_ADAPTERS="crm,recruitment,newsletter,directives")
    stop = threading.Event()
    token = system_token(running.env["DSR_SECRET_KEY"].encode(), "billing")
    billing = threading.Thread(target=external_system.serve, daemon=True,
                               args=(kafka.bootstrap, running.url, token, "billing", billing_records, stop))
    try:
        running.start()
        billing.start()
        yield running
    finally:
        stop.set()
        running.close()
        billing.join(10)
