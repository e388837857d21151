"""Shared fixtures: a session-wide Kafka broker and PostgreSQL server, embedded unless the environment names one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.devstack.postgres import EmbeddedPostgres, create_database, drop_database

KAFKA_BOOTSTRAP_ENV = "DSR_TEST_KAFKA_BOOTSTRAP"
TIERS = ("unit", "streams", "contract", "integration")
POSTGRES_DSN_ENV = "DSR_TEST_POSTGRES_DSN"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test runs in the tier its folder names (`make test-unit` ...), marked in the file or not;
    a test outside the tier folders is an error, not a test that no tier runs."""
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        tier = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: put the test under tests/<tier>/, tier one of {TIERS}")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running broker; `.bootstrap` is its "host:port"."""
    external = os.environ.get(KAFKA_BOOTSTRAP_ENV)
    if external:
        yield SimpleNamespace(bootstrap=external)
        return
    with EmbeddedKafka(tmp_path_factory.mktemp("kafka"), port=free_port()) as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A running PostgreSQL server; `.dsn` reaches a database whose user may create databases.
    A throwaway cluster from Debian's binaries, or the server $DSR_TEST_POSTGRES_DSN names. Missing
    binaries fail the tests that need it, with the command that installs them: never a skip."""
    external = os.environ.get(POSTGRES_DSN_ENV)
    if external:
        yield SimpleNamespace(dsn=external)
        return
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres: Any) -> Iterator[str]:
    """A fresh, empty database for one test, dropped after it."""
    name = f"dsr_test_{uuid.uuid4().hex[:12]}"
    dsn = create_database(postgres.dsn, name)
    yield dsn
    drop_database(postgres.dsn, name)
