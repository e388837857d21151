"""Settings from `DSR_*` environment variables; a missing or bad one stops the start with its name."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dsr.register import load_register
from handlers.kafka_security import KafkaSecurity, KafkaSecurityError

DEFAULT_SYSTEMS = "crm,recruitment,newsletter,directives"
# Partitions of the topics the pipeline creates when DSR_PARTITIONS is unset. A partition is the unit of work a
# worker takes: more workers than partitions sit idle. `dsr run` leaves room for up to 6 workers (1, 2, 3 or 6
# share them evenly); `dsr dev` runs one worker, and its data under ./var keep the topics they were made with;
# `dsr dev --workers N` (N > 1) makes as many as `dsr run`, or N when that is more.
RUN_PARTITIONS = 6
DEV_PARTITIONS = 1


class SettingsError(SystemExit):
    """Raised at start with a message naming the variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    kafka_bootstrap: str | None = Field(default=None, description="host:port[,host:port]; unset: embedded broker.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = Field(default=None, description="CA of the brokers' certificates (PEM).")
    kafka_cert_file: Path | None = Field(default=None, description="Client certificate (PEM), if the cluster asks.")
    kafka_key_file: Path | None = Field(default=None, description="Its private key (PEM, unencrypted).")
    kafka_connect_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds the start waits for a broker before naming the setting."
    )
    create_topics: bool = Field(
        default=True, description="false: topics are created by the cluster's owners; the worker checks them."
    )
    smtp_host: str | None = Field(default=None, description="Unset: the embedded SMTP sink with a web mailbox.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_backoff: float = Field(
        default=30.0, gt=0, description="Seconds before the first retry of an e-mail after a transient failure."
    )
    smtp_max_backoff: float = Field(default=900.0, gt=0, description="The longest pause between two retries (s).")
    mail_retry_hours: float = Field(
        default=48.0, gt=0, le=24 * 30, description="How long transient failures are retried before parking."
    )
    mail_from: str | None = Field(default=None, description="From: of every e-mail; default DSR_DPO_EMAIL.")
    dpo_email: str | None = Field(default=None, description="Where the DPO's alerts go; named in every e-mail.")
    dpo_language: str = Field(default="fr", pattern="^(fr|en)$")
    controller_name: str | None = Field(default=None, description="The company answering, as named in e-mails.")
    controller_address: str | None = Field(default=None, description="Its postal address, as given in e-mails.")
    privacy_url: str | None = Field(default=None, description="The privacy policy, linked from every e-mail.")
    public_url: str | None = Field(default=None, description="Base of links in e-mails; default http://127.0.0.1:PORT.")
    secret_key: str | None = Field(default=None, min_length=32, description="Signs links, keys subject hashes.")
    web_host: str = Field(default="127.0.0.1", description="Public listener: people and websites.")
    web_port: int = Field(default=8080, ge=1, le=65535)
    admin_host: str = Field(
        default="127.0.0.1",
        description="Admin listener: DPO API, systems' task API, probes, metrics; keep it on the internal network.",
    )
    admin_port: int = Field(default=8081, ge=1, le=65535)
    admin_advertised_url: str | None = Field(
        default=None,
        description="How the other workers reach this worker's admin listener (they ask it for the cases it "
        "holds); default http://DSR_ADMIN_HOST:DSR_ADMIN_PORT, this host's name for 0.0.0.0.",
    )
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per line.")
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    data_dir: Path = Path("var")
    postgres_dsn: str | None = Field(
        default=None,
        description="PostgreSQL server of the reference systems, a "
        "schema each; unset: SQLite files under the data dir.",
    )
    postgres_scrub_erasures: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Reference systems on PostgreSQL: erased rows pruned (VACUUM) after this many erasures at most.",
    )
    postgres_scrub_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="... and at most this many seconds after an erasure (whichever comes first), and on shutdown.",
    )
    vault_dsn: str | None = Field(
        default=None,
        description="PostgreSQL database of the key vault shared by every worker; unset: $DSR_DATA_DIR/keys.sqlite3.",
    )
    exports_dsn: str | None = Field(
        default=None, description="PostgreSQL database of the sealed access copies; unset: see exports_dir."
    )
    exports_dir: Path | None = Field(
        default=None,
        description="Directory of the sealed access copies, mounted by every worker; unset: PostgreSQL at "
        "DSR_VAULT_DSN if set, else $DSR_DATA_DIR/exports.",
    )
    systems: str = DEFAULT_SYSTEMS
    builtin_adapters: str | None = Field(default=None, description="Systems run in-process; default: all systems.")
    webhooks: str | None = Field(
        default=None,
        description="Systems reached by signed HTTP calls: 'name=https://url;name2=https://url2' (docs/webhooks.md).",
    )
    sql_adapters: str | None = Field(
        default=None,
        description="Existing databases served by a YAML mapping: "
        "'name=/path/map.yaml@postgresql://...[#schema];name2=/path/m.yaml@/path/db.sqlite3' "
        "(docs/sql-adapter.md).",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds per connect and read of a webhook call."
    )
    partitions: int | None = Field(
        default=None, ge=1, le=64, description=f"Unset: {RUN_PARTITIONS} for `dsr run`, {DEV_PARTITIONS} for `dsr dev`."
    )
    replication_factor: int = Field(default=1, ge=1, le=5)
    table_store: Literal["memory", "rocksdb"] = Field(
        default="memory",
        description="Where a worker keeps its partitions of the case and e-mail tables: memory (rebuilt from the "
        "changelog at each start) or rocksdb (files under DSR_FAUST_DIR, only the changelog's tail replayed).",
    )
    faust_dir: Path | None = Field(
        default=None,
        description="This worker's own directory for faust (its RocksDB table files): never shared by two workers "
        "at once; unset: $DSR_DATA_DIR/faust.",
    )
    task_timeout_hours: float = Field(default=4.0, gt=0)
    task_resend_minutes: float = Field(
        default=30.0,
        ge=0,
        description="A task still unanswered, or a verification link not recorded as sent, is sent again after "
        "this long (0: never), twice; so is any e-mail not reported sent or parked (a closed case asks about it).",
    )
    tick_seconds: float = Field(default=30.0, gt=0)
    verification_ttl_days: int = Field(default=14, ge=1, le=60)
    download_ttl_days: int = Field(default=7, ge=1, le=30)
    sample_data: bool | None = Field(
        default=None,
        description="Seed the reference systems with sample people; "
        "default: yes under `dsr dev`, never under `dsr run`.",
    )
    register_file: Path | None = Field(
        default=None, description="The company's record of processing (YAML); unset: the packaged sample register."
    )
    builtin_recipients: str | None = Field(
        default=None,
        description="Recipients whose Art. 19 notices an "
        "in-process inbox records; default: every recipient in the register.",
    )
    case_retention_days: int = Field(default=1826, ge=30, le=3660, description="R51: case records kept after closure.")
    retention_approval_limit: int = Field(
        default=1000, ge=0, le=100_000_000, description="R44: a sweep of more people than this waits for the DPO."
    )
    retention_batch_size: int = Field(default=500, ge=1, le=100_000, description="R44: erasure tasks per batch.")
    retention_clock: bool = Field(
        default=True,
        description="The clock sweeps daily once a first plan is approved; false: `dsr retention run` only.",
    )
    retention_batch_pause: float = Field(
        default=0.0, ge=0, le=3600, description="Seconds between two batches of the sweep, to spare the systems."
    )
    retention_scan_systems: str | None = Field(
        default=None,
        description="R44: systems with a consumer of their own (the back-office SDK) the sweep asks for a retention "
        "scan on their task topic; the others are listed as unsupported, never sent a message they may not know.",
    )
    retention_scan_timeout: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="R44: seconds the sweep waits for a back-office system's retention scan, and for each next page.",
    )
    retention_scan_page: int = Field(
        default=500, ge=1, le=1000, description="R44: people per page of a back-office system's retention scan answer."
    )
    retention_recontact_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="CNIL-COM: prospects whose end falls within this many days are asked once whether to keep "
        "hearing from us (a yes restarts their clock); 0: off.",
    )
    submission_key_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a form submission's key lives (its tasks, their dead letters and its acknowledgement e-mail "
        "are sealed under it), then the clock destroys it, unless the person opened a case meanwhile.",
    )
    retention_holds_file: Path | None = Field(
        default=None, description="R46: legal holds outside cases (JSON lines), honoured by the retention sweep."
    )
    intake_per_minute: int = Field(
        default=120, ge=1, le=100_000, description="Events one website may post a minute to POST /intake."
    )
    requests_per_address: int = Field(
        default=5, ge=1, le=1000, description="Privacy center: requests per e-mail address per hour."
    )
    requests_per_ip: int = Field(
        default=20, ge=1, le=10_000, description="Privacy center: requests per client per hour."
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="The public listener is behind a proxy that sets X-Forwarded-For: count per-IP limits on it.",
    )
    console_max_failures: int = Field(
        default=5, ge=1, le=100, description="DPO console: failed logins in a row that lock an account."
    )
    console_lock_minutes: int = Field(default=15, ge=1, le=10_080, description="DPO console: how long a lock lasts.")
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 7, description="DPO console: session lifetime.")
    mailbox_port: int = Field(default=8025, ge=1, le=65535)
    sink_smtp_port: int = Field(default=2525, ge=1, le=65535)
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_session_timeout: float = Field(
        default=10.0, ge=6, le=300, description="Seconds before a dead worker's partitions move."
    )

    @field_validator("postgres_dsn", "vault_dsn", "exports_dsn")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        if value and not (value.startswith(("postgresql://", "postgres://")) or "=" in value):
            raise ValueError("a PostgreSQL URI (postgresql://user:password@host:5432/db) or key=value string")
        return value or None

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
        try:
            self.kafka_security()
        except KafkaSecurityError as exc:
            raise ValueError(f"DSR_KAFKA_{exc.field.upper()}: {exc.problem}") from None
        return self

    def kafka_security(self) -> KafkaSecurity:
        password = self.kafka_password.get_secret_value() if self.kafka_password else None
        return KafkaSecurity(
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
            self.kafka_username or None,
            password or None,
            self.kafka_ca_file,
            self.kafka_cert_file,
            self.kafka_key_file,
        )

    @field_validator("systems", "builtin_adapters", "builtin_recipients", "retention_scan_systems")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        if value is None:
            return value
        names = [n.strip() for n in value.split(",") if n.strip()]
        bad = [n for n in names if not n.replace("-", "").replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"system names must be letters, digits, '-' or '_': {bad}")
        return ",".join(names)

    def system_names(self) -> tuple[str, ...]:
        return tuple(self.systems.split(",")) if self.systems else ()

    def builtin_names(self) -> tuple[str, ...]:
        if self.builtin_adapters is None:
            return self.system_names()
        return tuple(n for n in self.builtin_adapters.split(",") if n)

    def retention_scan_names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.retention_scan_systems or "").split(",") if n)

    def builtin_recipient_names(self, registered: tuple[str, ...]) -> tuple[str, ...]:
        if self.builtin_recipients is None:
            return registered
        return tuple(n for n in self.builtin_recipients.split(",") if n)

    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")

    def admin_url(self) -> str:
        host = "127.0.0.1" if self.admin_host in ("0.0.0.0", "::", "") else self.admin_host  # noqa: S104
        return f"http://{host}:{self.admin_port}"

    def advertised_admin_url(self) -> str:
        if self.admin_advertised_url:
            return self.admin_advertised_url.rstrip("/")
        wildcard = self.admin_host in ("0.0.0.0", "::", "")  # noqa: S104
        return f"http://{socket.gethostname() if wildcard else self.admin_host}:{self.admin_port}"

    def faust_directory(self) -> Path:
        return self.faust_dir or self.data_dir / "faust"

    def topic_partitions(self) -> int:
        """DSR_PARTITIONS, or the default of `dsr run` (`dsr dev` sets its own before anything reads it)."""
        return self.partitions or RUN_PARTITIONS

    def sender(self) -> str:
        return self.mail_from or self.dpo_email or ""


# `dsr dev` fills in the controller of the packaged register and a demo DPO address when they are unset;
# `dsr run` requires every one of them set, and refuses the placeholders (and the former sample company).
PLACEHOLDERS = {
    "controller_name": ("Exemple Services",),
    "controller_address": ("1 rue de l'Exemple, 69000 Lyon, France",),
    "dpo_email": ("dpo@example.test",),
}
DEMO_DPO = PLACEHOLDERS["dpo_email"][0]


def demo_values() -> dict[str, str]:
    """The dev stack's values: the controller as the packaged register names it (R24), a demo DPO address."""
    controller = load_register().controller
    named = {"controller_name": controller.name, "controller_address": controller.address} if controller else {}
    return {**named, "dpo_email": DEMO_DPO}


REQUIRED_IN_PRODUCTION = (
    "kafka_bootstrap",
    "smtp_host",
    "secret_key",
    "controller_name",
    "controller_address",
    "privacy_url",
    "dpo_email",
    "public_url",
)
WHY = {
    "kafka_bootstrap": "host:port[,host:port] of the Kafka brokers (`dsr dev` starts one of its own)",
    "smtp_host": "the SMTP server that sends the e-mails (`dsr dev` runs a sink with a web mailbox)",
    "secret_key": "at least 32 random characters; it signs links and keys subject hashes (keep it stable)",
    "controller_name": "the company answering the requests, as e-mails name it",
    "controller_address": "its postal address, as e-mails give it",
    "privacy_url": "the address of the privacy policy that e-mails link to",
    "dpo_email": "the DPO's address: alerts go there and e-mails name it",
    "public_url": "the https:// base of the links people receive (verification, download)",
}


def for_development(settings: Settings, workers: int = 1) -> Settings:
    """`dsr dev`: demo values where settings are unset, and sample people in the reference systems; with
    several workers, at least a partition each."""
    filled = {name: value for name, value in demo_values().items() if getattr(settings, name) is None}
    sample = settings.sample_data if settings.sample_data is not None else True
    partitions = settings.partitions or (DEV_PARTITIONS if workers == 1 else max(workers, RUN_PARTITIONS))
    if partitions < workers:
        raise SettingsError(
            f"DSR_PARTITIONS={partitions} gives work to {partitions} of {workers} workers: set it to {workers} or "
            "more (topics keep the count they were made with: use a fresh DSR_DATA_DIR), or start fewer workers"
        )
    return settings.model_copy(update={**filled, "sample_data": sample, "partitions": partitions})


def for_production(settings: Settings) -> Settings:
    """`dsr run`: refuse demo defaults, naming each setting to give; never seed sample people."""
    problems = [
        f"  DSR_{name.upper()}: not set: {WHY[name]}" for name in REQUIRED_IN_PRODUCTION if not getattr(settings, name)
    ]
    problems += [
        f"  DSR_{name.upper()}: {getattr(settings, name)!r} is a placeholder: {WHY[name]}"
        for name, values in PLACEHOLDERS.items()
        if getattr(settings, name) in values
    ]
    if settings.sample_data:
        problems.append("  DSR_SAMPLE_DATA: sample people are for `dsr dev` only; unset it")
    if problems:
        raise SettingsError(
            "dsr run needs real values for its settings (`dsr dev` runs on demo values):\n" + "\n".join(problems)
        )
    return settings.model_copy(update={"sample_data": False, "partitions": settings.topic_partitions()})


def load_settings(**overrides) -> Settings:
    """Read the environment; turn validation errors into a message naming each DSR_ variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError("invalid settings:\n" + "\n".join(map(_line, exc.errors()))) from None


def _line(error) -> str:
    """One error; a check across settings (empty location) names its variables in its message."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return f"  {message}"
    return f"  DSR_{'_'.join(str(p) for p in error['loc']).upper()}: {message}"
