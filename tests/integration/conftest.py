"""The pipeline under test: one worker process for the session, on the session's Kafka broker."""
from __future__ import annotations

import pytest

from tests.integration.pipeline import Pipeline


@pytest.fixture(scope="session")
def pipeline(kafka, tmp_path_factory):
    running = Pipeline(kafka.bootstrap, tmp_path_factory.mktemp("pipeline"))
    try:
        yield running.start()
    finally:
        running.close()
