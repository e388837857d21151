"""`dsr dev --workers N`: one embedded Kafka and SMTP sink, then N worker processes in one consumer group.

What lives under DSR_DATA_DIR is shared by the workers, as SQLite files in WAL mode (several processes may
open them) and plain directories: the dev key (secret.key), the key vault (keys.sqlite3), the access copies
(exports/) and uploaded documents (documents/), the record of answered tasks (answers/), the ledger of sent
e-mails (sent-emails.sqlite3), the case holds (case-holds.sqlite3), the front doors' state (doors.sqlite3),
the reference systems (systems/, seeded once here) and the retention sweep's state (retention/). The parent
alone uses kafka/ and mailbox/. Each worker has its own listeners and its own faust directory (faust-worker-I/:
RocksDB locks its table files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

from pydantic import SecretStr

from dsr.composition import reference_adapters, register_view, secret_from
from dsr.kafka_access import check_kafka
from dsr.logs import configure_logging
from dsr.runner import PLAINTEXT, announce_when_ready, banner, prepare_topics, say, start_embedded
from dsr.settings import Settings, SettingsError, for_development, load_settings
from dsr.topics_admin import verify_topics

# What every worker is told as the parent resolved it: the embedded parts' addresses, the shared data dir.
SHARED = ("kafka_bootstrap", *PLAINTEXT, "smtp_host", "smtp_port", "smtp_starttls", "smtp_username")
SHARED += ("smtp_password", "partitions", "data_dir")
STOP_GRACE = 30.0  # seconds a worker gets to finish its messages and commit before it is killed


class GroupStopped(Exception):
    """SIGTERM reached the parent: stop the workers, then the embedded parts."""


def run_group(workers: int, loglevel: str | None) -> None:
    """Until Ctrl-C or SIGTERM, which stop the workers, then the embedded parts."""
    signal.signal(signal.SIGTERM, _stopped)
    try:
        start_group(workers, loglevel)
    except (KeyboardInterrupt, GroupStopped):
        return


def start_group(workers: int, loglevel: str | None) -> None:
    settings = for_development(load_settings(), workers)
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    configure_logging(settings.log_format, loglevel or settings.log_level)
    members = [member_settings(settings, index) for index in range(workers)]
    refuse_shared_ports(settings, members)
    secret = secret_from(settings, create=True)  # before any worker starts: they all read it
    with ExitStack() as cleanup:
        settings = start_embedded(settings, cleanup)
        check_kafka(settings)
        prepare_group_topics(settings)
        if settings.sample_data:
            reference_adapters(settings, secret)  # the sample people, seeded once before any worker opens the files
        members = [member.model_copy(update={name: getattr(settings, name) for name in SHARED}) for member in members]
        say(banner(settings, dev=True, workers=members))
        supervise(members, loglevel)


def member_settings(settings: Settings, index: int) -> Settings:
    """Worker `index`: listener ports in pairs (8080/8081, 8082/8083, ...), its faust directory, no seeding; the
    retention clock in worker 0 alone (a sweep covers everyone: two would race over the same plan)."""
    return settings.model_copy(
        update={
            "web_port": settings.web_port + 2 * index,
            "admin_port": settings.admin_port + 2 * index,
            "faust_dir": settings.data_dir / f"faust-worker-{index}",
            "sample_data": False,
            "retention_clock": settings.retention_clock and index == 0,
        }
    )


def refuse_shared_ports(settings: Settings, members: list[Settings]) -> None:
    ports = [settings.kafka_port, settings.sink_smtp_port, settings.mailbox_port]
    ports += [port for member in members for port in (member.web_port, member.admin_port)]
    if len(set(ports)) < len(ports) or max(ports) > 65535:
        raise SettingsError(
            f"the {len(members)} workers' listeners (DSR_WEB_PORT + 2i, DSR_ADMIN_PORT + 2i) meet each other or "
            "DSR_KAFKA_PORT, DSR_SINK_SMTP_PORT or DSR_MAILBOX_PORT: set DSR_WEB_PORT and DSR_ADMIN_PORT apart "
            "(e.g. 8080 and 8081, the default)"
        )


def prepare_group_topics(settings: Settings) -> None:
    """The topics, created once, then checked: a data dir keeps the partitions its topics were made with."""
    recipients = tuple(register_view(settings).register.recipients)
    prepare_topics(settings, recipients)
    args = (settings.kafka_bootstrap, settings.system_names() + recipients, settings.topic_partitions())
    problems = verify_topics(*args, replication=settings.replication_factor, security=settings.kafka_security())
    if problems:
        more = [f"... and {len(problems) - 5} more"] if len(problems) > 5 else []
        raise SettingsError(
            "the topics are not as the workers need them (topics keep the partitions they were made with: use a "
            "fresh DSR_DATA_DIR, or set DSR_PARTITIONS to their count and start at most as many workers):\n  "
            + "\n  ".join(problems[:5] + more)
        )


def worker_env(member: Settings) -> dict[str, str]:
    """The environment of a worker: ours, with each setting the parent decided for it written out."""
    env = dict(os.environ)
    for name in (*SHARED, "web_port", "admin_port", "faust_dir", "sample_data", "retention_clock"):
        value, variable = getattr(member, name), f"DSR_{name.upper()}"
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = as_text(value)
    return env


def as_text(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def start_worker(member: Settings, loglevel: str | None) -> subprocess.Popen:
    """`dsr dev` as a member of the group: it starts nothing embedded (its settings name the parent's parts)."""
    command = [sys.executable, "-m", "dsr.cli", "dev", "--group-member"]
    command += ["--loglevel", loglevel] if loglevel else []
    return subprocess.Popen(command, env=worker_env(member))


def supervise(members: list[Settings], loglevel: str | None) -> None:
    """Start the workers; until Ctrl-C or SIGTERM, say when one dies; then stop them all."""
    processes: dict[int, subprocess.Popen] = {}
    try:
        for index, member in enumerate(members):
            processes[index] = start_worker(member, loglevel)
            announce_when_ready(f"{member.admin_url()}/readyz", who=f"worker {index}")
        watch(processes)
    except (KeyboardInterrupt, GroupStopped):
        say("stopping the workers, then the embedded parts ...")
        raise
    finally:
        stop_all(processes)


def _stopped(signum: int, frame: object) -> None:
    raise GroupStopped


def watch(processes: dict[int, subprocess.Popen]) -> None:
    running = dict(processes)
    while running:
        for index, process in list(running.items()):
            if process.poll() is not None:
                del running[index]
                others = "the others take its partitions over" if running else "no worker is left"
                say(f"worker {index} stopped (exit code {process.returncode}): {others}")
        time.sleep(0.5)
    raise SystemExit("every worker of the group has stopped: see the log above")


def stop_all(processes: dict[int, subprocess.Popen]) -> None:
    """SIGTERM to each worker still running (it commits and leaves the group), SIGKILL after STOP_GRACE."""
    alive = {index: p for index, p in processes.items() if p.poll() is None}
    for process in alive.values():
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for index, process in alive.items():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"worker {index} did not stop within {STOP_GRACE:.0f}s: killed")
            process.kill()
            process.wait()
