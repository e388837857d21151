"""DSR_CREATE_TOPICS=false, on a broker that creates no topic by itself: the worker names what is missing or
short and creates nothing; once the owners created the topics, it runs without adding a single one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kafka import KafkaAdminClient

from dsr.composition import register_view
from dsr.devstack.kafka import EmbeddedKafka, free_port
from dsr.settings import load_settings
from dsr.topics_admin import ensure_topics
from tests.integration.pipeline import PRODUCTION_ENV, ROOT, Pipeline

pytestmark = pytest.mark.integration

SYSTEMS = "crm,recruitment,newsletter,directives"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # As on a managed cluster: a topic nobody created does not appear when a client asks for it.
    data_dir = tmp_path_factory.mktemp("owned-kafka")
    with EmbeddedKafka(data_dir, port=free_port(), auto_create_topics=False) as running:
        yield running


def topic_names(broker) -> set[str]:
    """Every topic but the broker's own (__consumer_offsets appears when the first group forms)."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        return {name for name in admin.list_topics() if not name.startswith("__")}
    finally:
        admin.close()


def worker(broker, data_dir, **env) -> subprocess.CompletedProcess:
    variables = {
        **os.environ,
        **PRODUCTION_ENV,
        "DSR_KAFKA_BOOTSTRAP": broker.bootstrap,
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_DATA_DIR": str(data_dir),
        "DSR_WEB_PORT": str(free_port()),
        "DSR_ADMIN_PORT": str(free_port()),
        "DSR_SYSTEMS": SYSTEMS,
        "DSR_CREATE_TOPICS": "false",
        **env,
    }
    command = [sys.executable, "-m", "dsr.cli", "run"]
    return subprocess.run(command, cwd=ROOT, env=variables, capture_output=True, text=True, timeout=120)


def owners_create_topics(broker, partitions: int) -> None:
    """What the cluster's owners run: the plan `dsr.topics_admin` documents, here with partitions given."""
    settings = load_settings(systems=SYSTEMS)
    systems = settings.system_names() + tuple(register_view(settings).register.recipients)
    ensure_topics(broker.bootstrap, systems, partitions, replication=1)


def test_missing_topics_are_named_and_nothing_is_created(broker, tmp_path):
    before = topic_names(broker)
    done = worker(broker, tmp_path)
    assert done.returncode != 0
    assert "DSR_CREATE_TOPICS=false" in done.stderr and "nothing was created" in done.stderr
    assert "dsr.intake: missing (create it with 6 partition(s), replication 1" in done.stderr  # `dsr run`'s default
    assert "dsr-pipeline-cases-changelog: missing" in done.stderr
    assert topic_names(broker) == before


def test_then_topics_short_of_partitions_then_a_worker_that_adds_none(broker, tmp_path):
    owners_create_topics(broker, partitions=1)
    created = topic_names(broker)
    done = worker(broker, tmp_path / "short", DSR_PARTITIONS="2")
    assert done.returncode != 0
    assert "dsr.cases: 1 partition(s), needs exactly 2 (DSR_PARTITIONS)" in done.stderr
    # As planned, the worker starts and serves; faust created nothing either (no changelog of its own).
    (tmp_path / "run").mkdir()
    pipeline = Pipeline(
        broker.bootstrap, tmp_path / "run", DSR_CREATE_TOPICS="false", DSR_SYSTEMS=SYSTEMS, DSR_PARTITIONS="1"
    )
    try:
        pipeline.start()
        assert pipeline.get("/health")[0] == 200
    finally:
        pipeline.close()
    assert topic_names(broker) == created
