"""`dsr dev --workers 2` as a person starts it: one embedded Kafka and SMTP sink, two workers in one consumer
group on the shared data dir; a link clicked on the worker that does not hold the case works, and SIGTERM
stops every process it started."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsr.devstack.kafka import free_port
from gdpr.lifecycle import stable_id
from streams.web.peers import cluster_token
from tests.integration.pipeline import ROOT, http, rights_request

pytestmark = pytest.mark.integration
CAMILLE = ("camille.durand@example.test", "Camille Durand")  # a sample person the dev stack seeds


def ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1 a moment ago (the workers' listeners)."""
    for _ in range(50):
        first = free_port()
        if first + count < 65536 and all(_free(first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def descendants(pid: int) -> set[int]:
    """Every process started by `pid`, and by those, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class DevGroup:
    """The `dsr dev --workers 2` process, its log, its mailbox and its workers' listeners."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        web = ports_in_a_row(4)  # worker 0: web, admin; worker 1: web + 2, admin + 2
        self.kafka_port, self.mailbox_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
        env |= {
            "DSR_DATA_DIR": str(data_dir),
            "DSR_WEB_PORT": str(web),
            "DSR_ADMIN_PORT": str(web + 1),
            "DSR_KAFKA_PORT": str(self.kafka_port),
            "DSR_SINK_SMTP_PORT": str(free_port()),
            "DSR_MAILBOX_PORT": str(self.mailbox_port),
            "DSR_TICK_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.public = [f"http://127.0.0.1:{web}", f"http://127.0.0.1:{web + 2}"]
        self.admin = [f"http://127.0.0.1:{web + 1}", f"http://127.0.0.1:{web + 3}"]
        self.log = data_dir / "dev.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dsr.cli", "dev", "--workers", "2", "--loglevel", "info"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.admin)
        while waiting and time.monotonic() < deadline:
            assert self.process.poll() is None, f"dsr dev exited:\n{self.tail()}"
            waiting = [url for url in waiting if http("GET", f"{url}/readyz")[0] != 200]
            time.sleep(1)
        assert not waiting, f"not ready after {timeout}s: {waiting}\n{self.tail()}"

    def publish(self, event: dict) -> None:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{self.kafka_port}", acks="all")
        try:
            producer.send("dsr.intake", value=json.dumps(event).encode()).get(timeout=30)
        finally:
            producer.close()

    def email(self, to: str, contains: str, timeout: float = 90) -> dict:
        """The first e-mail to `to` whose text contains `contains`, read from the web mailbox."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body, _ = http("GET", f"http://127.0.0.1:{self.mailbox_port}/api/messages")
            found = [m for m in json.loads(body or b"[]") if to in m["to"] and contains in (m["text"] or "")]
            if status == 200 and found:
                return found[0]
            time.sleep(0.5)
        raise AssertionError(f"no e-mail to {to} containing {contains!r} after {timeout}s\n{self.tail()}")

    def holder(self, request_id: str) -> int:
        """The index of the worker whose partitions hold the case, asked as workers ask each other."""
        token = cluster_token((self.data_dir / "secret.key").read_text().strip().encode())
        headers = {"Authorization": f"Bearer {token}"}
        holding = [
            index
            for index, url in enumerate(self.admin)
            if http("GET", f"{url}/internal/cases?request_id={request_id}", headers=headers)[0] == 200
        ]
        assert len(holding) == 1, f"{len(holding)} workers hold {request_id}"
        return holding[0]

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def dev_group(tmp_path):
    group = DevGroup(tmp_path)
    try:
        yield group
    finally:
        left = descendants(group.process.pid)  # read before the parent goes: its orphans would move to init
        if group.process.poll() is None:
            group.process.kill()
            group.process.wait(30)
        for pid in [pid for pid in left if alive(pid)]:
            os.kill(pid, signal.SIGKILL)


def test_two_dev_workers_share_the_work_and_stop_together(dev_group):
    dev_group.wait_ready()
    banner = dev_group.log.read_text()
    assert "2 in one consumer group, over 6 partitions" in banner and all(url in banner for url in dev_group.admin)

    # Camille, seeded once by the parent, asks for erasure; her link is clicked on the worker without her case.
    email, name = CAMILLE
    request = rights_request(email, name)
    dev_group.publish(request)
    verify = re.search(r"http://127\.0\.0\.1:\d+(/verify/[A-Za-z0-9_.\-]+)", dev_group.email(email, "/verify/")["text"])
    other = 1 - dev_group.holder(stable_id("request", request["id"]))
    url = dev_group.public[other] + verify.group(1)
    status, page, _ = http("GET", url)
    assert status == 200 and b"<form" in page
    assert http("POST", url)[0] == 200
    assert "effac" in dev_group.email(email, "(CRM)")["text"].lower()

    # SIGTERM to `dsr dev`: both workers and the embedded Kafka are gone once it has exited.
    started = descendants(dev_group.process.pid)
    assert len(started) >= 3, started  # two workers and the Kafka broker, at least
    dev_group.process.send_signal(signal.SIGTERM)
    assert dev_group.process.wait(90) == 0, dev_group.tail()
    assert not [pid for pid in started if alive(pid)], dev_group.tail()
    assert all(http("GET", f"{url}/livez")[0] == 0 for url in dev_group.admin)
