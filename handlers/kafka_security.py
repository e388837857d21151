"""How a Kafka client proves who it is and whom it talks to: one object, arguments for kafka-python and aiokafka.

    security = KafkaSecurity.from_env()  # DSR_KAFKA_SECURITY_PROTOCOL, DSR_KAFKA_USERNAME, ...
    KafkaProducer(bootstrap_servers=..., **security.client_kwargs())

It stands alone (standard library only), so that the back-office SDK, which runs in other teams'
programs, can take it without the pipeline's settings.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
ENV_PREFIX = "DSR_KAFKA_"


class KafkaSecurityError(ValueError):
    """A field is missing or does not fit the others; `field` names it (env: DSR_KAFKA_<FIELD>)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


@dataclass(frozen=True)
class KafkaSecurity:
    """PLAINTEXT (the default), SSL (TLS, with a client certificate if the cluster asks for one),
    SASL_PLAINTEXT or SASL_SSL (a user and password over PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).
    `ca_file` is the CA that signed the brokers' certificates (unset: the system's trusted CAs)."""

    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise KafkaSecurityError("security_protocol", f"one of {', '.join(PROTOCOLS)}")
        self._check_sasl()
        self._check_tls()

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def _check_sasl(self) -> None:
        if not self.sasl:
            for name in ("sasl_mechanism", "username", "password"):
                if getattr(self, name):
                    raise KafkaSecurityError(
                        name, f"only with SASL_PLAINTEXT or SASL_SSL, not {self.security_protocol}"
                    )
            return
        if self.sasl_mechanism not in MECHANISMS:
            raise KafkaSecurityError("sasl_mechanism", f"one of {', '.join(MECHANISMS)} with {self.security_protocol}")
        for name in ("username", "password"):
            if not getattr(self, name):
                raise KafkaSecurityError(name, f"required with {self.security_protocol}")

    def _check_tls(self) -> None:
        files = {"ca_file": self.ca_file, "cert_file": self.cert_file, "key_file": self.key_file}
        for name, path in files.items():
            if path is not None and not self.tls:
                raise KafkaSecurityError(name, f"only with SSL or SASL_SSL, not {self.security_protocol}")
            if path is not None and not Path(path).is_file():
                raise KafkaSecurityError(name, f"no readable file at {path}")
        if bool(self.cert_file) != bool(self.key_file):
            missing = "key_file" if self.cert_file else "cert_file"
            raise KafkaSecurityError(missing, "a client certificate needs both cert_file and key_file")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifies the brokers' certificates and host names; presents the client certificate if given."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    def client_kwargs(self) -> dict:
        """Keyword arguments for kafka-python's and aiokafka's clients: both spell them the same."""
        kwargs: dict = {"security_protocol": self.security_protocol}
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.sasl:
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return kwargs

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """From DSR_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _USERNAME, _PASSWORD, _CA_FILE, _CERT_FILE,
        _KEY_FILE (the pipeline's own names; unset or empty: not given)."""
        environ = os.environ if environ is None else environ
        given = {f.name: environ.get(ENV_PREFIX + f.name.upper()) or None for f in fields(cls)}
        paths = {name: Path(value) for name, value in given.items() if value and name.endswith("_file")}
        return cls(**(given | paths | {"security_protocol": given["security_protocol"] or "PLAINTEXT"}))

    def __repr__(self) -> str:  # never the password
        return f"KafkaSecurity({self.security_protocol}, mechanism={self.sasl_mechanism}, user={self.username})"
