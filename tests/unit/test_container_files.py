"""docker-compose.yml and the Dockerfile: pinned images, and the Kafka version of the embedded broker."""

import re
from pathlib import Path

import pytest
import yaml

from dsr.devstack.kafka import KAFKA_VERSION, POM_FILE

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
BASES = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)


def test_compose_runs_the_kafka_version_of_make_run():
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in POM_FILE.read_text()
    assert COMPOSE["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


@pytest.mark.parametrize("image", [s["image"] for s in COMPOSE.values() if "image" in s] + BASES)
def test_every_image_is_pinned_to_a_version(image):
    tag = image.partition(":")[2]
    assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{image}: pin a version"
