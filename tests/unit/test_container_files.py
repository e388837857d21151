"""docker-compose.yml and the Dockerfile: pinned images, the Kafka version of the embedded broker, the
packages the wheel needs, both listeners exposed, a health check on the admin listener's /livez."""

import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from dsr.devstack.kafka import KAFKA_VERSION, POM_FILE
from dsr.settings import REQUIRED_IN_PRODUCTION, Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
BASES = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.MULTILINE)
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
DEFAULTS = Settings.model_fields


def instruction(name: str) -> str:
    found = re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, re.MULTILINE)
    assert len(found) == 1, f"one {name} in the Dockerfile"
    return found[0]


def health_check_code() -> str:
    """The Python one-liner of the HEALTHCHECK's CMD."""
    command = instruction("HEALTHCHECK").partition(" CMD ")[2]
    words = shlex.split(command)
    assert words[:2] == ["python", "-c"], "the health check needs no curl: python -c"
    return words[2]


def test_compose_runs_the_kafka_version_of_make_run():
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in POM_FILE.read_text()
    assert COMPOSE["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


@pytest.mark.parametrize("image", [s["image"] for s in COMPOSE.values() if "image" in s] + BASES)
def test_every_image_is_pinned_to_a_version(image):
    tag = image.partition(":")[2]
    assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{image}: pin a version"


@pytest.mark.parametrize("package", sorted({name.partition(".")[0] for name in SETUPTOOLS["packages"]}))
def test_the_wheel_stage_copies_every_package(package):
    folder = SETUPTOOLS.get("package-dir", {}).get(package, package)
    assert re.search(rf"^COPY {folder} {folder}$", DOCKERFILE, re.MULTILINE), f"COPY {folder} {folder}"


def test_the_image_exposes_both_listeners_at_their_default_ports():
    ports = {int(port) for port in instruction("EXPOSE").split()}
    assert ports == {DEFAULTS["web_port"].default, DEFAULTS["admin_port"].default}
    assert "DSR_WEB_HOST=0.0.0.0" in DOCKERFILE and "DSR_ADMIN_HOST=0.0.0.0" in DOCKERFILE


def test_compose_gives_every_setting_dsr_run_requires():
    environment = COMPOSE["dsr"]["environment"]
    missing = [f"DSR_{name.upper()}" for name in REQUIRED_IN_PRODUCTION if f"DSR_{name.upper()}" not in environment]
    assert not missing, f"dsr run refuses to start without {missing}"


class _Probe(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def run_health_check(port: int) -> int:
    env = {**os.environ, "DSR_ADMIN_PORT": str(port)}
    return subprocess.run([sys.executable, "-c", health_check_code()], env=env, capture_output=True).returncode


def test_the_health_check_asks_the_admin_listeners_livez():
    # A stand-in admin listener that answers only /livez: healthy; nothing listening: unhealthy.
    assert f"'{DEFAULTS['admin_port'].default}'" in health_check_code()
    server = HTTPServer(("127.0.0.1", 0), _Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert run_health_check(server.server_address[1]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert run_health_check(server.server_address[1]) != 0
