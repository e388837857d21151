"""Settings from `DSR_*` environment variables; a missing or bad one stops the start with its name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.kafka_security import KafkaSecurity, KafkaSecurityError

DEFAULT_SYSTEMS = "crm,recruitment,newsletter,directives"


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
    smtp_attempts: int = Field(default=5, ge=1, le=50)
    smtp_backoff: float = Field(default=2.0, ge=0)
    mail_from: str = "Protection des données <dpo@example.test>"
    dpo_email: str = "dpo@example.test"
    dpo_language: str = Field(default="fr", pattern="^(fr|en)$")
    controller_name: str = "Exemple Services"
    controller_address: str = "1 rue de l'Exemple, 69000 Lyon, France"
    privacy_url: str | None = None
    public_url: str | None = Field(default=None, description="Base of links in e-mails; default http://127.0.0.1:PORT.")
    secret_key: str | None = Field(default=None, min_length=32, description="Signs links, keys subject hashes.")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    data_dir: Path = Path("var")
    postgres_dsn: str | None = Field(
        default=None,
        description="PostgreSQL server of the reference systems, a "
        "schema each; unset: SQLite files under the data dir.",
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
    partitions: int = Field(default=1, ge=1, le=64)
    replication_factor: int = Field(default=1, ge=1, le=5)
    task_timeout_hours: float = Field(default=4.0, gt=0)
    tick_seconds: float = Field(default=30.0, gt=0)
    verification_ttl_days: int = Field(default=14, ge=1, le=60)
    download_ttl_days: int = Field(default=7, ge=1, le=30)
    sample_data: bool = True
    register_file: Path | None = Field(
        default=None, description="The company's record of processing (YAML); unset: the packaged sample register."
    )
    builtin_recipients: str | None = Field(
        default=None,
        description="Recipients whose Art. 19 notices an "
        "in-process inbox records; default: every recipient in the register.",
    )
    case_retention_days: int = Field(default=1826, ge=30, le=3660, description="R51: case records kept after closure.")
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

    @field_validator("systems", "builtin_adapters", "builtin_recipients")
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

    def builtin_recipient_names(self, registered: tuple[str, ...]) -> tuple[str, ...]:
        if self.builtin_recipients is None:
            return registered
        return tuple(n for n in self.builtin_recipients.split(",") if n)

    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")


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
