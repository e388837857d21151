"""Starts the pipeline: the embedded parts where settings leave them unset, the topics, then the workers."""

from __future__ import annotations

import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack

from dsr.composition import Assembly, build_app, secret_from
from dsr.kafka_access import check_kafka
from dsr.logs import PipelineJsonFormatter, configure_logging
from dsr.settings import Settings, SettingsError, for_development, for_production, load_settings
from dsr.topics_admin import ensure_topics, verify_topics

PLAINTEXT = {
    "kafka_security_protocol": "PLAINTEXT",
    "kafka_sasl_mechanism": None,
    "kafka_username": None,
    "kafka_password": None,
    "kafka_ca_file": None,
    "kafka_cert_file": None,
    "kafka_key_file": None,
}

log = logging.getLogger("dsr")


def say(text: str) -> None:
    """Progress for the person starting the worker; a log record when logs are JSON (one object per line)."""
    if any(isinstance(h.formatter, PipelineJsonFormatter) for h in logging.getLogger().handlers):
        log.info(text)
    else:
        print(text, file=sys.stderr, flush=True)


def start_embedded(settings: Settings, cleanup: ExitStack) -> Settings:
    """Embedded Kafka unless DSR_KAFKA_BOOTSTRAP is set; SMTP sink + mailbox unless DSR_SMTP_HOST is set."""
    changes: dict = {}
    if not settings.kafka_bootstrap:
        from dsr.devstack.kafka import EmbeddedKafka, ensure_kafka_jars

        ensure_kafka_jars()
        say(f"starting embedded Apache Kafka on 127.0.0.1:{settings.kafka_port} ...")
        kafka = EmbeddedKafka(settings.data_dir / "kafka", port=settings.kafka_port)
        kafka.start()
        cleanup.callback(kafka.stop)
        changes |= {"kafka_bootstrap": kafka.bootstrap, **PLAINTEXT}  # the embedded broker asks no credentials
    if not settings.smtp_host:
        from dsr.devstack.smtp_sink import Mailbox, MailboxServer, SmtpSink

        mailbox = Mailbox(settings.data_dir / "mailbox")
        sink = SmtpSink(mailbox, port=settings.sink_smtp_port).start()
        cleanup.callback(sink.stop)
        web = MailboxServer(mailbox, port=settings.mailbox_port).start()
        cleanup.callback(web.stop)
        changes |= {
            "smtp_host": "127.0.0.1",
            "smtp_port": sink.port,
            "smtp_starttls": False,
            "smtp_username": None,
            "smtp_password": None,
        }
    return settings.model_copy(update=changes)


def banner(settings: Settings, dev: bool, workers: Sequence[Settings] = ()) -> str:
    """What runs where; `workers`: each worker of `dsr dev --workers N` (its listeners), else this process."""
    lines = [
        "dsr-pipeline is starting" + (" (dev stack)" if dev else ""),
        f"  Kafka            {settings.kafka_bootstrap} ({settings.kafka_security()!r})",
        *(listener_lines(workers, settings.topic_partitions()) if workers else listener_lines_of(settings)),
    ]
    if dev and settings.smtp_host == "127.0.0.1" and settings.smtp_port == settings.sink_smtp_port:
        lines.append(f"  mailbox          http://127.0.0.1:{settings.mailbox_port}   (every e-mail sent)")
    lines += [
        f"  SMTP             {settings.smtp_host}:{settings.smtp_port}",
        f"  systems          {', '.join(settings.system_names())} (built in: {', '.join(settings.builtin_names())})",
        f"  data             {settings.data_dir.resolve()}" + ("   (shared by the workers)" if workers else ""),
        f"  register         {settings.register_file or 'packaged sample (set DSR_REGISTER_FILE)'}",
        "  publish an example:  .venv/bin/dsr publish --fresh schemas/examples/dsr.rights.requested.json",
    ]
    return "\n".join(lines)


def listener_lines_of(settings: Settings) -> list[str]:
    return [
        f"  public listener  http://{settings.web_host}:{settings.web_port}   (links: {settings.base_url()})",
        f"  admin listener   {settings.admin_url()}   (DPO API, systems' task API, /metrics, /livez, /readyz)",
    ]


def listener_lines(workers: Sequence[Settings], partitions: int) -> list[str]:
    """A line per worker of a group: its public and admin listeners, and its own faust directory."""
    lines = [f"  workers          {len(workers)} in one consumer group, over {partitions} partitions"]
    for index, worker in enumerate(workers):
        lines.append(
            f"  worker {index:<9} public http://{worker.web_host}:{worker.web_port}   admin {worker.admin_url()}"
            f"   (faust: {worker.faust_directory()})"
        )
    return lines


def run_pipeline(dev: bool, loglevel: str | None = None, group_member: bool = False) -> None:
    """`dsr dev` (demo values, embedded parts) or `dsr run` (production: real settings or no start).
    `group_member`: a worker of `dsr dev --workers N`, whose parent started the embedded parts (their addresses
    are in its settings), made the topics and says what runs where."""
    settings = load_settings()
    settings = for_development(settings) if dev else for_production(settings)
    configure_logging(settings.log_format, loglevel or settings.log_level)
    secret = secret_from(settings, create=dev)
    with ExitStack() as cleanup:
        if dev:
            settings = start_embedded(settings, cleanup)
        built = build_app(settings, secret)  # connects to nothing yet: Kafka checked, topics, then the worker
        check_kafka(settings)
        if not group_member:
            prepare_topics(settings, tuple(built.ctx.register.register.recipients))  # Art. 19 notices: their topics
            say(banner(settings, dev))
            announce_when_ready(f"{settings.admin_url()}/readyz")
        run_worker(built)


def prepare_topics(settings: Settings, recipients: tuple[str, ...]) -> None:
    """Create the missing topics, or with DSR_CREATE_TOPICS=false check them and name what is wrong."""
    args = (settings.kafka_bootstrap, settings.system_names() + recipients, settings.topic_partitions())
    options = {"replication": settings.replication_factor, "security": settings.kafka_security()}
    if settings.create_topics:
        ensure_topics(*args, **options)
        return
    problems = verify_topics(*args, **options)
    if problems:
        raise SettingsError(
            "DSR_CREATE_TOPICS=false and these topics are not as the workers need them; nothing was created:\n  "
            + "\n  ".join(problems)
        )


def announce_when_ready(health_url: str, timeout: float = 300, who: str = "the pipeline") -> None:
    """Progress for people: say when the workers answer, or that they still do not."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(health_url, timeout=2):
                    say(f"ready: {who} is consuming (GET {health_url} answers 200)")
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        say(f"{who}: still not ready after {timeout:.0f}s: see the log above")

    threading.Thread(target=watch, name="ready-watch", daemon=True).start()


def run_worker(built: Assembly) -> None:
    """The listeners start first (so /livez answers while tables recover), then the faust app."""
    from faust.worker import Worker

    worker = Worker(built.app, built.listeners, quiet=True, redirect_stdouts=False, override_logging=False)
    worker.spinner = None  # its terminal escapes would break log lines (one JSON object per line)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
