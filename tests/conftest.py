"""Shared fixtures: a session-wide Kafka broker, embedded unless DSR_TEST_KAFKA_BOOTSTRAP names one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port

KAFKA_BOOTSTRAP_ENV = "DSR_TEST_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running broker; `.bootstrap` is its "host:port"."""
    external = os.environ.get(KAFKA_BOOTSTRAP_ENV)
    if external:
        yield SimpleNamespace(bootstrap=external)
        return
    with EmbeddedKafka(tmp_path_factory.mktemp("kafka"), port=free_port()) as broker:
        yield broker
