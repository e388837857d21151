"""Runs the real pipeline (`dsr run`) as a subprocess against real Kafka and a real SMTP server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer

from dsr.devstack.kafka import free_port
from dsr.devstack.smtp_sink import Mailbox, SmtpSink, StoredMessage
from handlers.kafka_security import KafkaSecurity

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "schemas" / "examples"
CHECKOUT_DSR = ((sys.executable, "-m", "dsr.cli"), ROOT)  # the `dsr` command a worker runs, and from where
DPO_EMAIL = "dpo@services-essai.test"  # DSR_DPO_EMAIL of every pipeline under test
# What `dsr run` refuses to start without (production mode), as every worker under test is given it.
PRODUCTION_ENV = {
    "DSR_SECRET_KEY": "integration-test-secret-0123456789abcdef",
    "DSR_CONTROLLER_NAME": "Services Essai SARL",
    "DSR_CONTROLLER_ADDRESS": "10 rue des Tests, 69000 Lyon, France",
    "DSR_PRIVACY_URL": "https://www.example.test/confidentialite",
    "DSR_DPO_EMAIL": DPO_EMAIL,
    "DSR_PUBLIC_URL": "https://privacy.example.test",
}


def security_env(security: KafkaSecurity) -> dict[str, str]:
    """The DSR_KAFKA_* variables that say `security` to a worker or a CLI command."""
    fields = {
        "SECURITY_PROTOCOL": security.security_protocol,
        "SASL_MECHANISM": security.sasl_mechanism,
        "USERNAME": security.username,
        "PASSWORD": security.password,
        "CA_FILE": security.ca_file,
        "CERT_FILE": security.cert_file,
        "KEY_FILE": security.key_file,
    }
    return {f"DSR_KAFKA_{name}": str(value) for name, value in fields.items() if value}


class Pipeline:
    def __init__(self, bootstrap: str, data_dir: Path, security: KafkaSecurity | None = None, **env) -> None:
        self.bootstrap = bootstrap
        self.data_dir = data_dir
        self.mailbox = Mailbox()
        self.sink = SmtpSink(self.mailbox).start()
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"  # the public listener
        self.admin_port = free_port()
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"  # the admin listener
        self.env = {
            **os.environ,
            "DSR_KAFKA_BOOTSTRAP": bootstrap,
            "DSR_SMTP_HOST": "127.0.0.1",
            "DSR_SMTP_PORT": str(self.sink.port),
            "DSR_SMTP_BACKOFF": "0.2",  # transient SMTP failures retried within a second or two
            "DSR_SMTP_MAX_BACKOFF": "1",
            **PRODUCTION_ENV,
            "DSR_WEB_PORT": str(self.web_port),
            "DSR_ADMIN_PORT": str(self.admin_port),
            "DSR_PUBLIC_URL": self.url,
            "DSR_DATA_DIR": str(data_dir),
            "DSR_TICK_SECONDS": "1",
            "DSR_SAMPLE_DATA": "false",
            "PYTHONUNBUFFERED": "1",
            "DSR_LOG_FORMAT": "json",  # every line one JSON object: test_deployment_surface reads them
            **security_env(security or KafkaSecurity()),
            **env,
        }
        self.workers: list[Worker] = []
        self.loglevel = "info"
        self.launch = CHECKOUT_DSR  # the installed-wheel test runs another `dsr`
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", **(security or KafkaSecurity()).client_kwargs()
        )

    # --- the worker processes --------------------------------------------------------------
    def start(self, timeout: float = 120) -> Pipeline:
        self.workers = [self._worker(self.data_dir, self.web_port, self.admin_port)]
        self.workers[0].start(timeout)
        return self

    @property
    def process(self) -> subprocess.Popen | None:
        return self.workers[0].process if self.workers else None

    def add_worker(self, timeout: float = 120) -> Worker:
        """Another `dsr run` in the same consumer group: same settings, its own listeners and data dir."""
        data_dir = self.data_dir / f"worker-{len(self.workers)}"
        data_dir.mkdir(exist_ok=True)
        worker = self._worker(data_dir, free_port(), free_port())
        self.workers.append(worker)
        return worker.start(timeout)

    def _worker(self, data_dir: Path, web_port: int, admin_port: int) -> Worker:
        return Worker(self.env, data_dir, web_port, admin_port, self.loglevel, self.launch)

    def wait_ready(self, timeout: float) -> None:
        self.workers[0].wait_ready(timeout)

    def kill(self) -> None:
        self.workers[0].kill()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def close(self) -> None:
        self.stop()
        self.producer.close()
        self.sink.stop()

    def log_text(self) -> str:
        path = self.data_dir / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return self.workers[0].log_tail(lines)

    # --- what a website and a person do ---------------------------------------------------
    def publish(self, event: dict | bytes, key: bytes | None = None) -> None:
        value = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.producer.send("dsr.intake", key=key, value=value).get(timeout=30)

    def get(self, path: str) -> tuple[int, bytes, dict]:
        return self._http("GET", path)

    def post(self, path: str) -> tuple[int, bytes, dict]:
        return self._http("POST", path)

    def _http(self, method: str, path: str) -> tuple[int, bytes, dict]:
        return http(method, path if path.startswith("http") else self.url + path)

    def email(self, to: str, contains: str = "", timeout: float = 60) -> StoredMessage:
        def match(m: StoredMessage) -> bool:
            return to in m.rcpt_tos and contains in (m.text or "")

        return self.mailbox.wait_for(match, timeout)

    def emails_to(self, to: str) -> list[StoredMessage]:
        return [m for m in self.mailbox.all() if to in m.rcpt_tos]


class Worker:
    """One `dsr run` process: the pipeline's settings with its own listeners and data dir."""

    def __init__(
        self,
        env: dict,
        data_dir: Path,
        web_port: int,
        admin_port: int,
        loglevel: str = "info",
        launch: tuple[tuple[str, ...], Path] = CHECKOUT_DSR,
    ) -> None:
        self.data_dir, self.loglevel = data_dir, loglevel
        self.command, self.cwd = launch
        self.url = f"http://127.0.0.1:{web_port}"  # its public listener
        self.admin_url = f"http://127.0.0.1:{admin_port}"  # its admin listener
        self.env = {
            **env,
            "DSR_WEB_PORT": str(web_port),
            "DSR_ADMIN_PORT": str(admin_port),
            "DSR_DATA_DIR": str(data_dir),
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Worker:
        log = open(self.data_dir / "worker.log", "ab")  # noqa: SIM115 - the worker's stdout while it lives
        self.process = subprocess.Popen(
            [*self.command, "run", "--loglevel", self.loglevel],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if http("GET", self.url + "/health")[0] == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no commit, as a crash would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        path = self.data_dir / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        path = self.data_dir / "worker.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, dict]:
    """One HTTP call as a browser or a script makes it: (status, body, headers); status 0 when unreachable."""
    data = body if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b"", {}


def new_person() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"person-{tag}@example.test", f"Testname{tag}"


def example(event_type: str, **data) -> dict:
    event = json.loads((EXAMPLES / f"{event_type}.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["time"] = datetime.now(UTC).isoformat()
    event["data"].update(data)
    return event


def rights_request(email: str, name: str, right: str = "erasure", language: str = "fr") -> dict:
    return example(
        "dsr.rights.requested",
        subject_request_type=right,
        subject_name=name,
        language=language,
        subject_identities=[{"identity_type": "email", "identity_value": email}],
    )


def link(message: StoredMessage, kind: str) -> str:
    found = re.search(rf"(http://127\.0\.0\.1:\d+/{kind}/[A-Za-z0-9_.\-]+)", message.text or "")
    assert found, f"no {kind} link in the e-mail"
    return found.group(1)
